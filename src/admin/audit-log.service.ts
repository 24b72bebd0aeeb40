import { Clock } from '../shared/clock';
import type { AdminRepository } from '../db/admin.repository';
import { Actor, AuditEntry, AuditQuery } from './audit.types';

/** Reads the audit log; writes happen inside the stores' change transactions. */
export class AuditLogService {
  constructor(
    private readonly store: AdminRepository,
    private readonly clock: Clock,
  ) {}

  list(q: Partial<AuditQuery> = {}): Promise<AuditEntry[]> {
    return this.store.list({ limit: Math.min(Math.max(q.limit ?? 100, 1), 1000), afterId: q.afterId, beforeId: q.beforeId, action: q.action });
  }

  record(actor: Actor, action: string, target?: string, details?: Record<string, unknown>): Promise<void> {
    return this.store.append({ actor, action, target, details, at: this.clock.now() });
  }
}
