import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ws1_sync_state.next_generation: each device sync takes its own inventory generation number
 * (above the current one and every earlier sync's), so a sync streams its pages into a generation
 * no other process writes to. Plain ALTER TABLE with a default on both dialects; existing rows
 * start from their current generation.
 */
export class Ws1InventoryGenerations1796400000000 implements MigrationInterface {
  name = 'Ws1InventoryGenerations1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE ws1_sync_state ADD COLUMN next_generation integer NOT NULL DEFAULT 0');
    await q.query('UPDATE ws1_sync_state SET next_generation = generation');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE ws1_sync_state DROP COLUMN next_generation');
  }
}
