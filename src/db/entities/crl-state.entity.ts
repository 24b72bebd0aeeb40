import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

/**
 * One row (id 1): the revocation revision and the published CRL. Every instance serves the CRL stored
 * here, so all of them hand out the same bytes and CRL numbers never go backwards.
 */
export interface CrlStateRow {
  id: number;
  /** bumped in the same transaction as every revocation: a cheap "did anything change" poll */
  revision: number | string;
  /** last CRL number published (0: none yet); bigint columns come back as strings on PostgreSQL */
  crlNumber: number | string;
  /** the revision the stored CRL covers */
  crlRevision: number | string;
  issuerKeyId: string | null;
  thisUpdate: Date | null;
  nextUpdate: Date | null;
  der: Buffer | null;
  updatedAt: Date;
}

export const crlStateEntity = (t: ColumnTypes) =>
  new EntitySchema<CrlStateRow>({
    name: 'CrlState',
    tableName: 'crl_state',
    columns: {
      id: { type: Number, primary: true },
      revision: { type: t.bigint },
      crlNumber: { name: 'crl_number', type: t.bigint },
      crlRevision: { name: 'crl_revision', type: t.bigint },
      issuerKeyId: { name: 'issuer_key_id', type: String, length: 64, nullable: true },
      thisUpdate: { name: 'this_update', type: t.timestamp, nullable: true },
      nextUpdate: { name: 'next_update', type: t.timestamp, nullable: true },
      der: { type: t.binary, nullable: true },
      updatedAt: { name: 'updated_at', type: t.timestamp },
    },
  });
