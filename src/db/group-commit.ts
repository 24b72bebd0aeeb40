import type { EntityManager } from 'typeorm';
import type { Database } from './database';

interface Pending {
  fn: (m: EntityManager) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit for SQLite: units of work that arrive while a transaction is being written share the
 * next one. No caller is answered before the COMMIT that makes its writes durable and visible. If a
 * unit throws (a duplicate transactionID, a used challenge), that shared transaction is rolled back
 * and every unit of it runs again in its own transaction, so each caller gets exactly the outcome it
 * would have had alone. Units must therefore only write to the database (they may run twice).
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

  /** Runs `fn` in a transaction, possibly shared with other units (see above). */
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
    if (batch.length > 1) {
      try {
        const values = await this.db.transaction(async (m) => {
          const out: unknown[] = [];
          for (const unit of batch) out.push(await unit.fn(m));
          return out;
        });
        batch.forEach((unit, i) => unit.resolve(values[i]));
        return;
      } catch {
        // nothing of this batch was written: give each unit its own transaction instead
      }
    }
    for (const unit of batch) {
      try {
        unit.resolve(await this.db.transaction(unit.fn));
      } catch (err) {
        unit.reject(err);
      }
    }
  }
}
