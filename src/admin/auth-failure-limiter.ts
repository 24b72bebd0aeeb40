import { Clock } from '../shared/clock';

export interface AuthFailureLimits {
  /** failures within `cooldownSeconds` that start a cool-down */
  maxFailures: number;
  cooldownSeconds: number;
  /** addresses tracked at most; the oldest are forgotten first (memory stays bounded) */
  maxTracked?: number;
}

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
}

/**
 * Failed authentications per source address, in process memory: after `maxFailures` failures the
 * address gets 429 for `cooldownSeconds`, even with good credentials. Each server process counts
 * on its own (a cool-down, not an account lock), so N instances allow N times the attempts.
 */
export class AuthFailureLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly limits: AuthFailureLimits, private readonly clock: Clock) {}

  /** seconds to wait, or 0 when the address may try */
  retryAfter(address: string): number {
    const e = this.entries.get(address);
    const now = this.clock.now().getTime();
    if (!e) return 0;
    if (e.blockedUntil > now) return Math.ceil((e.blockedUntil - now) / 1000);
    if (e.blockedUntil && e.blockedUntil <= now) this.entries.delete(address);
    return 0;
  }

  failed(address: string): void {
    const now = this.clock.now().getTime();
    const windowMs = this.limits.cooldownSeconds * 1000;
    let e = this.entries.get(address);
    if (!e || now - e.firstAt > windowMs) e = { failures: 0, firstAt: now, blockedUntil: 0 };
    e.failures++;
    if (e.failures >= this.limits.maxFailures) e.blockedUntil = now + windowMs;
    this.entries.delete(address); // re-insert: Map order is then least recently failed first
    this.entries.set(address, e);
    const max = this.limits.maxTracked ?? 10_000;
    while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
  }

  succeeded(address: string): void {
    this.entries.delete(address);
  }
}
