import type { EntityManager } from 'typeorm';
import type { Database } from './database';
import { rawQuery } from './raw-sql';

/** One scep_transactions row as the SCEP service reads it. */
export interface TransactionRow {
  endpoint_id: string;
  transaction_id: string;
  public_key_hash: string;
  pki_status: number;
  fail_info: number | null;
  fail_text: string | null;
  certificate_serial: string | null;
}

interface Lookup {
  endpointId: string;
  transactionId: string;
  resolve(row: TransactionRow | undefined): void;
  reject(err: unknown): void;
}

const COLUMNS = 'endpoint_id, transaction_id, public_key_hash, pki_status, fail_info, fail_text, certificate_serial';

/**
 * Reads the transactions that concurrent enrollments look up (SQLite) with one SELECT: while one
 * read is in flight, the lookups that arrive meanwhile wait and then go together. An idle server
 * reads at once, as before; a busy one makes one statement, and one round trip through libuv's
 * thread pool, per batch instead of per enrollment (every enrollment starts with this read).
 * The answers are exactly those of the single-row SELECT: the rows are matched on the unique
 * (endpoint_id, transaction_id) key.
 */
export class TransactionLookupBatcher {
  private queue: Lookup[] = [];
  private reading = false;

  constructor(
    private readonly db: Database,
    private readonly maxKeys = 64,
  ) {}

  find(endpointId: string, transactionId: string): Promise<TransactionRow | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ endpointId, transactionId, resolve, reject });
      this.next();
    });
  }

  /** The single-row read, also used outside batches (e.g. between transactions). */
  static async readOne(m: EntityManager, db: Database, endpointId: string, transactionId: string): Promise<TransactionRow | undefined> {
    const rows = await rawQuery<TransactionRow[]>(
      m,
      db.dialect,
      `SELECT ${COLUMNS} FROM scep_transactions WHERE endpoint_id = ? AND transaction_id = ? LIMIT 1`,
      [endpointId, transactionId],
    );
    return rows[0];
  }

  private next(): void {
    if (this.reading || this.queue.length === 0) return;
    this.reading = true;
    const batch = this.queue.splice(0, this.maxKeys);
    void this.read(batch).finally(() => {
      this.reading = false;
      this.next();
    });
  }

  private async read(batch: Lookup[]): Promise<void> {
    try {
      if (batch.length === 1) {
        const only = batch[0]!;
        only.resolve(await TransactionLookupBatcher.readOne(this.db.manager, this.db, only.endpointId, only.transactionId));
        return;
      }
      const rows = await rawQuery<TransactionRow[]>(
        this.db.manager,
        this.db.dialect,
        `SELECT ${COLUMNS} FROM scep_transactions WHERE ${batch.map(() => '(endpoint_id = ? AND transaction_id = ?)').join(' OR ')}`,
        batch.flatMap((l) => [l.endpointId, l.transactionId]),
      );
      const byKey = new Map(rows.map((r) => [`${r.endpoint_id}\0${r.transaction_id}`, r]));
      for (const l of batch) l.resolve(byKey.get(`${l.endpointId}\0${l.transactionId}`));
    } catch (err) {
      for (const l of batch) l.reject(err);
    }
  }
}
