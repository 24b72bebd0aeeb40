import { EntitySchema } from 'typeorm';
import type { CaGenerationRecord } from '../../ca/ca-rollover.service';
import { ColumnTypes } from '../dialect';

/** One CA generation as stored: the domain record (certificate, link certificates, activation time) and when it was recorded. */
export interface CaGenerationRow extends CaGenerationRecord {
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
      keyUri: { name: 'key_uri', type: String, length: 1024, nullable: true },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });
