import { Clock } from '../shared/clock';

const REFRESH_MS = 10 * 60_000;

/**
 * When the last certificate of each CA generation expires, re-read from the database every ten
 * minutes: a generation that no longer issues publishes its CRL until then, and no longer after.
 */
export class LastExpiry {
  private map?: Map<number, Date>;
  private readAt = 0;
  private reading?: Promise<void>;

  constructor(
    private readonly store: { lastExpiry(): Promise<Map<number, Date>> },
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** True while `generation` has an unexpired certificate (and until the first read answers). */
  covers(generation: number, now: Date): boolean {
    if (!this.reading && (!this.map || this.clock.now().getTime() - this.readAt > REFRESH_MS)) {
      this.reading = this.store
        .lastExpiry()
        .then((m) => {
          this.map = m;
          this.readAt = this.clock.now().getTime();
        })
        .catch(this.onError)
        .finally(() => (this.reading = undefined));
    }
    if (!this.map) return true;
    const last = this.map.get(generation);
    return last !== undefined && last.getTime() > now.getTime();
  }
}
