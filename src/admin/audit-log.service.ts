import { Clock } from '../shared/clock';
import type { AdminRepository } from '../db/admin.repository';
import { Actor, AuditEntry, AuditQuery } from './audit.types';

/** The most entries one read of the audit log answers, and how many when no limit is given. */
export const AUDIT_PAGE = { max: 1000, fallback: 100 } as const;

/** Reads the audit log; writes happen inside the stores' change transactions. */
export class AuditLogService {
  constructor(
    private readonly store: AdminRepository,
    private readonly clock: Clock,
  ) {}

  list(q: Partial<AuditQuery> = {}): Promise<AuditEntry[]> {
    return this.store.list({
      limit: Math.min(Math.max(q.limit ?? AUDIT_PAGE.fallback, 1), AUDIT_PAGE.max),
      afterId: q.afterId,
      beforeId: q.beforeId,
      action: q.action,
    });
  }

  record(actor: Actor, action: string, target?: string, details?: Record<string, unknown>): Promise<void> {
    return this.store.append({ actor, action, target, details, at: this.clock.now() });
  }
}
