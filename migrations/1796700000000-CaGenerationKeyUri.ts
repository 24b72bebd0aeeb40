import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ca_generations.key_uri: the pkcs11: URI of a generation's CA key when it lives in a PKCS#11 token
 * (each generation's key has a label and id of its own there), so a start finds every generation's
 * key even after SCEPTER_CA_KEY changed; NULL for a key file (the file name follows the generation).
 *
 * Plain ALTER TABLE for the column: TypeORM's addColumn rebuilds a SQLite table.
 */
export class CaGenerationKeyUri1796700000000 implements MigrationInterface {
  name = 'CaGenerationKeyUri1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE ca_generations ADD COLUMN key_uri varchar(1024) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE ca_generations DROP COLUMN key_uri');
  }
}
