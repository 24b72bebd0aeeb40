import type { EntityManager } from 'typeorm';
import type { Database } from './database';

interface Pending {
  fn: (m: EntityManager) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

const SAVEPOINT = 'scepter_group_item';

/**
 * Group commit for SQLite: units of work that arrive while a transaction is being written share the
 * next one, each inside its own SAVEPOINT. A unit that throws is rolled back alone (its caller gets
 * the error, exactly as from its own transaction); the others commit together, and no caller is
 * answered before the COMMIT that makes its writes durable and visible.
 *
 * Why: SQLite has one connection here and its transactions run one after another; each COMMIT
 * writes every touched page (table and index leaves) to the WAL again, which cost about 0.5 ms of
 * CPU per enrollment, and the serial queue capped throughput once statements waited behind RSA jobs
 * in libuv's thread pool. PostgreSQL runs transactions concurrently, so there each unit keeps its own.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private writing = false;

  constructor(
    private readonly db: Database,
    private readonly maxUnits = 64,
  ) {}

  /** Runs `fn` in a transaction (shared with other units, isolated by a savepoint). */
  run<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.db.dialect !== 'sqlite') return this.db.transaction(fn);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const batch = this.queue.splice(0, this.maxUnits);
    void this.write(batch).finally(() => {
      this.writing = false;
      this.next();
    });
  }

  private async write(batch: Pending[]): Promise<void> {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await this.db.transaction(async (m) => {
        for (const unit of batch) {
          await m.query(`SAVEPOINT ${SAVEPOINT}`);
          try {
            const value = await unit.fn(m);
            await m.query(`RELEASE ${SAVEPOINT}`);
            outcomes.push({ ok: true, value });
          } catch (err) {
            await m.query(`ROLLBACK TO ${SAVEPOINT}`);
            await m.query(`RELEASE ${SAVEPOINT}`);
            outcomes.push({ ok: false, value: err });
          }
        }
      });
    } catch (err) {
      // the transaction itself failed (COMMIT, or a savepoint statement): nothing was written
      for (const unit of batch) unit.reject(err);
      return;
    }
    batch.forEach((unit, i) => (outcomes[i]!.ok ? unit.resolve(outcomes[i]!.value) : unit.reject(outcomes[i]!.value)));
  }
}
