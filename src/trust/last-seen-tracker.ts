import type { TrustRepository } from '../db/trust.repository';

/**
 * Remembers when each certificate was last presented and writes the latest times in one batch every
 * `flushMs`: a device that logs in a hundred times a second costs one UPDATE per interval.
 */
export class LastSeenTracker {
  private dirty = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: TrustRepository,
    private readonly flushMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  seen(serial: string, at: Date): void {
    this.dirty.set(serial, at);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      if (!this.dirty.size) return;
      const batch = this.dirty;
      this.dirty = new Map();
      try {
        await this.store.touchLastSeen(batch);
      } catch (err) {
        // newer sightings win; the failed ones are retried with the next batch
        for (const [serial, at] of batch) if (!this.dirty.has(serial)) this.dirty.set(serial, at);
        this.onError(err);
        if (!this.timer) {
          this.timer = setTimeout(() => void this.flush(), this.flushMs);
          this.timer.unref();
        }
      }
    });
    return this.flushing;
  }
}
