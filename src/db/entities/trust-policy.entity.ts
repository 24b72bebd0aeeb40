import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

export interface TrustPolicyRow {
  /** '' is the global policy (a NULL key would not be unique on either dialect) */
  application: string;
  policy: string;
  updatedAt: Date;
}

export const trustPolicyEntity = (t: ColumnTypes) =>
  new EntitySchema<TrustPolicyRow>({
    name: 'TrustPolicy',
    tableName: 'trust_policies',
    columns: {
      application: { type: String, length: 200, primary: true },
      policy: { type: String, length: 32 },
      updatedAt: { name: 'updated_at', type: t.timestamp },
    },
  });
