/**
 * Injected faults. A fault counts the requests that match it (path and page filters) from the moment
 * it is set and fires from the `onRequest`-th one (default the first), at most `times` times
 * (default: once when `onRequest` is given, otherwise on every match).
 *   { type: 'status', status: 500, onRequest: 3 }     the 3rd request answers 500
 *   { type: 'status', status: 503, page: 1, times: 1 } page 1 fails once, then works
 *   { type: 'hang', path: '/api/mdm/devices/search' }  never answers
 */
export type Ws1SimFault = (
  | { type: 'status'; status: number }
  | { type: 'hang' }
  | { type: 'reset' } // destroys the connection without an answer
) & { onRequest?: number; page?: number; times?: number; path?: string };

export class SimFaults {
  private fault: Ws1SimFault | null = null;
  private seen = 0;
  private fired = 0;

  set(fault: Ws1SimFault | null): void {
    this.fault = fault;
    this.seen = 0;
    this.fired = 0;
  }

  /** The fault to apply to this request, if any. */
  match(path: string, page: string | null): Ws1SimFault | undefined {
    const f = this.fault;
    if (!f) return undefined;
    if (f.path !== undefined && f.path.toLowerCase() !== path) return undefined;
    if (f.page !== undefined && String(f.page) !== (page ?? '0')) return undefined;
    this.seen++;
    const times = f.times ?? (f.onRequest !== undefined ? 1 : Infinity);
    if (this.seen < (f.onRequest ?? 1) || this.fired >= times) return undefined;
    this.fired++;
    return f;
  }
}

/** A fixed-window request quota like WS1's daily API limit, with its `x-ratelimit-*` headers. */
export class QuotaWindow {
  private used = 0;
  private resetAt: number;

  constructor(
    private limit: number,
    private windowSeconds: number,
  ) {
    this.resetAt = Date.now() + windowSeconds * 1000;
  }

  reconfigure(limit: number, windowSeconds = this.windowSeconds): void {
    this.limit = limit;
    this.windowSeconds = windowSeconds;
    this.used = 0;
    this.resetAt = Date.now() + windowSeconds * 1000;
  }

  /** Counts one request; false when the quota is exhausted. */
  take(): boolean {
    this.roll();
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  secondsToReset(): number {
    return Math.max(1, Math.ceil((this.resetAt - Date.now()) / 1000));
  }

  headers(): Record<string, string> {
    this.roll();
    return {
      'x-ratelimit-limit': String(this.limit),
      'x-ratelimit-remaining': String(Math.max(0, this.limit - this.used)),
      // Unix seconds, rounded up so that a client waiting until then never arrives early.
      'x-ratelimit-reset': String(Math.ceil(this.resetAt / 1000)),
    };
  }

  private roll(): void {
    const now = Date.now();
    if (now >= this.resetAt) {
      this.used = 0;
      const windows = Math.floor((now - this.resetAt) / (this.windowSeconds * 1000)) + 1;
      this.resetAt += windows * this.windowSeconds * 1000;
    }
  }
}
