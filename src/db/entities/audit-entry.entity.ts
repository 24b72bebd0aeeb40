import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

export interface AuditEntryRow {
  id: number;
  at: Date;
  actor: string;
  source: string;
  action: string;
  target: string | null;
  details: string | null; // JSON
}

/** Append-only record of admin changes: who, what, when, from where. */
export const auditEntryEntity = (t: ColumnTypes) =>
  new EntitySchema<AuditEntryRow>({
    name: 'AuditEntry',
    tableName: 'audit_log',
    columns: {
      id: { type: Number, primary: true, generated: 'increment' },
      at: { type: t.timestamp },
      actor: { type: String, length: 256 },
      source: { type: String, length: 128 },
      action: { type: String, length: 64 },
      target: { type: String, length: 256, nullable: true },
      details: { type: 'text', nullable: true },
    },
  });
