import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

/** One device-trust check: append-only, written in batches. */
export interface AuthLogRow {
  id: number;
  at: Date;
  userName: string;
  application: string | null;
  decision: string;
  trusted: boolean;
  reason: string;
  policy: string;
  method: string;
  integrationId: string | null;
  deviceId: string | null;
  serial: string | null;
  sourceAddress: string;
  note: string | null;
}

export const authLogEntity = (t: ColumnTypes) =>
  new EntitySchema<AuthLogRow>({
    name: 'AuthLog',
    tableName: 'auth_log',
    columns: {
      id: { type: Number, primary: true, generated: 'increment' },
      at: { type: t.timestamp },
      userName: { name: 'user_name', type: String, length: 256 },
      application: { type: String, length: 200, nullable: true },
      decision: { type: String, length: 8 },
      trusted: { type: Boolean },
      reason: { type: String, length: 40 },
      policy: { type: String, length: 32 },
      method: { type: String, length: 16 },
      integrationId: { name: 'integration_id', type: String, length: 64, nullable: true },
      deviceId: { name: 'device_id', type: String, length: 256, nullable: true },
      serial: { type: String, length: 64, nullable: true },
      sourceAddress: { name: 'source_address', type: String, length: 64 },
      note: { type: String, length: 64, nullable: true },
    },
  });
