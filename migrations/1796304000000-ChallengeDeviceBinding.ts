import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * challenges.device_id: a challenge minted for one device (profile command/API, or the challenge
 * URL's `deviceUid` parameter) issues only for that device. NULL: any device of the integration.
 *
 * Plain ALTER TABLE: TypeORM's addColumn rebuilds a SQLite table.
 */
export class ChallengeDeviceBinding1796304000000 implements MigrationInterface {
  name = 'ChallengeDeviceBinding1796304000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE challenges ADD COLUMN device_id varchar(256) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE challenges DROP COLUMN device_id');
  }
}
