import { EntitySchema } from 'typeorm';
import type { Integration } from '../../integrations/integration.types';
import { ColumnTypes } from '../dialect';

/** An integration as stored: type and status are text, and its test group is a group id (the repository adds the name). */
export interface IntegrationRow extends Omit<Integration, 'type' | 'status' | 'groupName'> {
  type: string;
  status: string;
  groupId: number | null;
}

export const integrationEntity = (t: ColumnTypes) =>
  new EntitySchema<IntegrationRow>({
    name: 'Integration',
    tableName: 'integrations',
    columns: {
      id: { type: String, length: 32, primary: true },
      name: { type: String, length: 200 },
      type: { type: String, length: 16 },
      status: { type: String, length: 16 },
      groupId: { name: 'group_id', type: Number, nullable: true },
      subjectTemplate: { name: 'subject_template', type: String, length: 512, nullable: true },
      challengeUsername: { name: 'challenge_username', type: String, length: 64, nullable: true, unique: true },
      challengePasswordHash: { name: 'challenge_password_hash', type: String, length: 64, nullable: true },
      previousChallengePasswordHash: { name: 'previous_challenge_password_hash', type: String, length: 64, nullable: true },
      previousChallengePasswordUntil: { name: 'previous_challenge_password_until', type: t.timestamp, nullable: true },
      createdAt: { name: 'created_at', type: t.timestamp },
      updatedAt: { name: 'updated_at', type: t.timestamp },
      deletedAt: { name: 'deleted_at', type: t.timestamp, nullable: true },
    },
  });
