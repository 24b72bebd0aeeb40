import { Clock } from '../shared/clock';

export interface AuthFailureLimits {
  /** failures of one client address within `cooldownSeconds` that start its cool-down */
  maxFailures: number;
  /** failures against one credential (username, API key id) from any address before it cools down */
  maxFailuresPerCredential?: number;
  cooldownSeconds: number;
  /** buckets tracked at most, per kind; the least recently failed are forgotten first (memory stays bounded) */
  maxTracked?: number;
}

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
}

/** Failure counts with a fixed window and a cool-down, for one kind of key. */
class Buckets {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxTracked: number,
  ) {}

  retryAfterMs(key: string, now: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    if (e.blockedUntil > now) return e.blockedUntil - now;
    if (e.blockedUntil) this.entries.delete(key);
    return 0;
  }

  failed(key: string, now: number): void {
    let e = this.entries.get(key);
    if (!e || now - e.firstAt > this.windowMs) e = { failures: 0, firstAt: now, blockedUntil: 0 };
    e.failures++;
    if (e.failures >= this.max) e.blockedUntil = now + this.windowMs;
    this.entries.delete(key); // re-insert: Map order is then least recently failed first
    this.entries.set(key, e);
    while (this.entries.size > this.maxTracked) this.entries.delete(this.entries.keys().next().value!);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Failed authentications of one entry point (the challenge URL and the admin API each have their
 * own), in process memory, counted twice: per client address (the real client, found through the
 * trusted proxies) and per credential tried (Basic username, API key id). Either bucket over its
 * limit answers 429 for `cooldownSeconds`, even to good credentials.
 *
 * - One client's failures cool down that client only, never the clients sharing its proxy.
 * - Guessing one credential from many addresses is capped by the credential bucket; its limit is
 *   higher than the address limit, so a single client cannot cool down someone else's credential.
 * - A success clears the failures of that client's own address only: never a credential's count
 *   (other clients' guesses against it) and never another address.
 *
 * Each server process counts on its own (a cool-down, not an account lock), so N instances allow
 * N times the attempts.
 */
export class AuthFailureLimiter {
  private readonly addresses: Buckets;
  private readonly credentials: Buckets;

  constructor(
    limits: AuthFailureLimits,
    private readonly clock: Clock,
  ) {
    const windowMs = limits.cooldownSeconds * 1000;
    const tracked = limits.maxTracked ?? 10_000;
    this.addresses = new Buckets(limits.maxFailures, windowMs, tracked);
    this.credentials = new Buckets(limits.maxFailuresPerCredential ?? limits.maxFailures * 10, windowMs, tracked);
  }

  /** seconds to wait, or 0 when this address (and credential, when given) may try */
  retryAfter(address: string, credential?: string): number {
    const now = this.clock.now().getTime();
    const ms = Math.max(this.addresses.retryAfterMs(address, now), credential === undefined ? 0 : this.credentials.retryAfterMs(credential, now));
    return Math.ceil(ms / 1000);
  }

  failed(address: string, credential?: string): void {
    const now = this.clock.now().getTime();
    this.addresses.failed(address, now);
    if (credential !== undefined) this.credentials.failed(credential, now);
  }

  succeeded(address: string): void {
    this.addresses.forget(address);
  }

  /** buckets held (for tests of the memory bound) */
  get tracked(): { addresses: number; credentials: number } {
    return { addresses: this.addresses.size, credentials: this.credentials.size };
  }
}
