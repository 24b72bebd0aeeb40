import type { AuthLogStore } from './trust.ports';
import type { AuthLogRecord } from './trust.types';

export interface AuthLogWriterOptions {
  flushMs: number;
  maxBatch: number;
  /** records held while the database is unreachable; past it the oldest are dropped (and counted) */
  maxBuffered: number;
  onError(err: unknown, dropped: number): void;
}

/**
 * Buffers authentication-log records and writes them as multi-row inserts, every `flushMs` or as
 * soon as `maxBatch` are waiting, so a trust check never waits for the database. close() writes
 * what is left (shutdown).
 */
export class AuthLogWriter {
  private buffer: AuthLogRecord[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: AuthLogStore,
    private readonly opts: AuthLogWriterOptions,
  ) {}

  append(record: AuthLogRecord): void {
    this.buffer.push(record);
    if (this.buffer.length > this.opts.maxBuffered) {
      const dropped = this.buffer.length - this.opts.maxBuffered;
      this.buffer.splice(0, dropped);
      this.opts.onError(new Error('authentication log buffer full'), dropped);
    }
    if (this.buffer.length >= this.opts.maxBatch) void this.flush();
    else if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => void this.flush(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything buffered so far; resolves when it is in the database (or failed and was kept). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.drain());
    return this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  get pending(): number {
    return this.buffer.length;
  }

  private async drain(): Promise<void> {
    while (this.buffer.length) {
      const batch = this.buffer.splice(0, this.opts.maxBatch);
      try {
        await this.store.insertMany(batch);
      } catch (err) {
        // keep them for the next attempt; the bound above protects memory
        this.buffer.unshift(...batch);
        this.opts.onError(err, 0);
        if (!this.closed && !this.timer) {
          this.timer = setTimeout(() => void this.flush(), Math.max(this.opts.flushMs, 1000));
          this.timer.unref();
        }
        return;
      }
    }
  }
}
