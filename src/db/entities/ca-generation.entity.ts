import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

/** One CA generation: its certificate, the rollover link certificates, and when it starts issuing. */
export interface CaGenerationRow {
  generation: number;
  /** hex SHA-1 key identifier of the CA key (RFC 5280 4.2.1.2 method 1) */
  keyId: string;
  subject: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  activateAt: Date;
  certificate: Buffer;
  /** this CA's key certified by the previous CA ("NewWithOld"); null for the first CA */
  newWithOld: Buffer | null;
  /** the previous CA's key certified by this CA ("OldWithNew"); null for the first CA */
  oldWithNew: Buffer | null;
  createdAt: Date;
}

export const caGenerationEntity = (t: ColumnTypes) =>
  new EntitySchema<CaGenerationRow>({
    name: 'CaGeneration',
    tableName: 'ca_generations',
    columns: {
      generation: { type: Number, primary: true },
      keyId: { name: 'key_id', type: String, length: 64, unique: true },
      subject: { type: String, length: 1024 },
      fingerprintSha256: { name: 'fingerprint_sha256', type: String, length: 64 },
      notBefore: { name: 'not_before', type: t.timestamp },
      notAfter: { name: 'not_after', type: t.timestamp },
      activateAt: { name: 'activate_at', type: t.timestamp },
      certificate: { type: t.binary },
      newWithOld: { name: 'new_with_old', type: t.binary, nullable: true },
      oldWithNew: { name: 'old_with_new', type: t.binary, nullable: true },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });
