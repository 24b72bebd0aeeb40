import { expect } from 'chai';
import type { DataSource } from 'typeorm';
import { openTestDatabase } from '../support/test-database';

type Row = Record<string, unknown>;

/** Every table, column and index of the schema, in a stable order (TypeORM's own table included). */
async function schemaOf(ds: DataSource): Promise<Row[]> {
  if (ds.options.type === 'postgres') {
    const columns = await ds.query<Row[]>(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
        WHERE table_schema = current_schema() ORDER BY table_name, column_name`,
    );
    const indexes = await ds.query<Row[]>(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`);
    return [...columns, ...indexes];
  }
  return ds.query<Row[]>(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`);
}

const executed = async (ds: DataSource) => Number((await ds.query<Row[]>('SELECT COUNT(*) AS n FROM migrations'))[0]!.n);

/**
 * An operator going back a release runs the migrations' down(): each must undo exactly its up(),
 * so that going forward again rebuilds the same schema.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`migrations on ${dialect}: every down() undoes its up()`, function () {
    this.timeout(120_000);

    it('reverts one by one to an empty schema, then migrates up to the same schema again', async () => {
      const { db, cleanup } = await openTestDatabase(dialect, 'scepter-migrations-');
      try {
        const ds = db.dataSource;
        const migrated = await schemaOf(ds);
        const count = await executed(ds);
        expect(count).to.equal(ds.migrations.length);
        for (let left = count; left > 0; left--) {
          await ds.undoLastMigration({ transaction: 'each' });
          expect(await executed(ds)).to.equal(left - 1);
        }
        const tables = (await schemaOf(ds)).map((r) => String(r.table_name ?? r.tablename ?? r.tbl_name));
        expect([...new Set(tables)]).to.deep.equal(['migrations']);
        await ds.runMigrations({ transaction: 'each' });
        expect(await schemaOf(ds)).to.deep.equal(migrated);
      } finally {
        await cleanup();
      }
    });
  });
}
