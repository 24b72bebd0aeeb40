/** Who did something and from where: an API key id or `cli:<os user>`, and an IP address or `cli`. */
export interface Actor {
  who: string;
  from: string;
}

/** One audit log line, written in the same database transaction as the change it records. */
export interface AuditRecord {
  actor: Actor;
  action: string;
  target?: string;
  /** never secrets: names, roles, statuses */
  details?: Record<string, unknown>;
  at: Date;
}

export interface AuditEntry {
  id: number;
  at: Date;
  who: string;
  from: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditQuery {
  limit: number;
  /** only entries with a larger id (paging forward) */
  afterId?: number;
  /** only entries with a smaller id (the newest first, one page further back) */
  beforeId?: number;
  action?: string;
}
