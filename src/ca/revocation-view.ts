import { Clock } from '../shared/clock';
import { FollowUpRunner } from '../shared/follow-up-runner';
import { NotFoundError, ServiceUnavailableError } from '../shared/errors';
import type { OcspCertStatus } from '../pki/ocsp.codec';
import type { CrlPublisher, PublishedCrl } from './crl-publisher';
import type { RevocationRepository } from '../db/revocation.repository';
import type { IssuedStatus, RevokedEntry } from './revocation.types';

export interface RevocationViewOptions {
  /** how often the database is polled for revocations made elsewhere (CLI, other instances) */
  pollMs: number;
  /** certificates the CA issued outside the certificates table (RA pair, OCSP signer), with the generation that issued each */
  extraIssuedSerials?: Map<string, number>;
  /** whether CA generation `generation` still publishes a CRL (default: always) */
  publishes?(generation: number, now: Date): boolean;
  onError(err: unknown): void;
}

/** A full reload of the revoked set at most this often (only when a revocation happened). */
const FULL_RELOAD_MS = 10 * 60_000;

/** Bound on the positive cache of issued serials; past it the cache starts over. */
const ISSUED_CACHE_LIMIT = 200_000;

/**
 * This process's view of the revocation state: every revoked serial in memory (so OCSP answers
 * without a database round trip) and the CRL being served. It polls a revision counter that every
 * revocation bumps, loads the revocations newer than what it has when it moves, and lets the
 * publisher republish from the set in memory; a revocation made in this process calls sync() right
 * after its commit, so both are current within a second.
 */
export class RevocationView {
  private revoked = new Map<string, RevokedEntry>();
  private revision = -1;
  private fullLoadAt = 0;
  /** serials known to be issued, with the generation that issued them */
  private readonly issued = new Map<string, number>();
  private readonly extraIssued: Map<string, number>;
  private publishers: CrlPublisher[];
  private syncedAt?: Date;
  private timer?: NodeJS.Timeout;
  private readonly syncs = new FollowUpRunner(() => this.syncOnce());
  /** serials waiting for one batched existence query, with who waits for each */
  private lookups = new Map<string, { resolve(r: IssuedStatus | undefined): void; reject(err: unknown): void }[]>();

  constructor(
    private readonly store: RevocationRepository,
    publishers: CrlPublisher | CrlPublisher[],
    private readonly clock: Clock,
    private readonly opts: RevocationViewOptions,
  ) {
    this.publishers = Array.isArray(publishers) ? publishers : [publishers];
    this.extraIssued = new Map(opts.extraIssuedSerials ?? []);
  }

  /** The first CA's publisher (generation 1). */
  get publisher(): CrlPublisher {
    return this.publisherOf(1)!;
  }

  publisherOf(generation: number): CrlPublisher | undefined {
    return this.publishers.find((p) => p.generation === generation);
  }

  /** A CA generation added after start (a rollover), with the certificates it issued outside the table. */
  addPublisher(p: CrlPublisher, extraIssued: string[] = []): void {
    if (this.publisherOf(p.generation)) return;
    this.publishers = [...this.publishers, p];
    for (const s of extraIssued) this.extraIssued.set(s, p.generation);
  }

  /** A certificate issued outside the table later (a renewed RA or responder certificate). */
  addIssued(serialHex: string, generation: number): void {
    this.extraIssued.set(serialHex, generation);
  }

  /** First sync (publishes a CRL if none exists), then polls until stop(). */
  async start(): Promise<void> {
    await this.sync();
    this.timer ??= setInterval(() => void this.sync().catch((err: unknown) => this.opts.onError(err)), this.opts.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for a sync in progress (so the database can close under it). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.syncs.settled();
  }

  /**
   * Brings the view up to date. Calls made while a sync runs share one follow-up sync that starts
   * after it, so a revocation committed mid-sync is never missed and bursts cost two syncs at most.
   */
  sync(): Promise<void> {
    return this.syncs.run();
  }

  private async syncOnce(): Promise<void> {
    const startedAt = this.clock.now();
    const state = await this.store.readState();
    if (state.revision !== this.revision) await this.catchUp(startedAt);
    const snapshot = async () => ({ revision: this.revision, entries: [...this.revoked.values()] });
    for (const p of this.publishers) {
      if (this.opts.publishes && !this.opts.publishes(p.generation, startedAt)) continue;
      await p.sync(state.revision, state.crls.get(p.generation), snapshot);
    }
    this.syncedAt = startedAt;
  }

  /**
   * Loads the revocations newer than the revision seen: a few rows per revocation, where a full load
   * of 100,000 revoked rows held the event loop for 0.3-0.5 s on every instance at every revocation.
   * A full load runs first, then at most every FULL_RELOAD_MS (when something changed), and whenever
   * the revision moved without a stamped row, to pick up rows revoked without a stamp.
   */
  private async catchUp(now: Date): Promise<void> {
    let full = this.revision < 0 || now.getTime() - this.fullLoadAt >= FULL_RELOAD_MS;
    let snap = await this.store.loadRevoked(full ? undefined : this.revision);
    if (!full && snap.entries.length === 0) {
      // the revision moved but no row carries it: revoked by a version that does not stamp rows
      // (an instance not yet upgraded), or a revocation that found nothing left to revoke
      full = true;
      snap = await this.store.loadRevoked();
    }
    if (full) {
      this.revoked = new Map(snap.entries.map((e) => [e.serialHex, e]));
      this.fullLoadAt = now.getTime();
    } else {
      for (const e of snap.entries) this.revoked.set(e.serialHex, e);
    }
    this.revision = snap.revision;
  }

  /** When the revoked set was last known to match the database; undefined before the first sync. */
  get lastSyncAt(): Date | undefined {
    return this.syncedAt;
  }

  /** The revision the revoked set reflects: it changes with every revocation seen. */
  get revisionSeen(): number {
    return this.revision;
  }

  /**
   * OCSP status of a serial: the revoked map first, then issued serials (cached). With `generation`,
   * a serial another CA generation issued is "unknown" to this one.
   */
  async status(serialHex: string, generation?: number): Promise<{ status: OcspCertStatus; asOf: Date }> {
    const asOf = this.syncedAt ?? this.clock.now();
    const other = (g: number) => generation !== undefined && g !== generation;
    const r = this.revoked.get(serialHex);
    if (r) return other(r.generation) ? { status: 'unknown', asOf } : { status: { revokedAt: r.revokedAt, reason: r.reason }, asOf };
    const known = this.issued.get(serialHex) ?? this.extraIssued.get(serialHex);
    if (known !== undefined) return { status: other(known) ? 'unknown' : 'good', asOf };
    const now = this.clock.now();
    const row = await this.lookup(serialHex);
    if (!row || other(row.generation)) return { status: 'unknown', asOf: now };
    // revoked in the database but not yet in the map: the database is newer
    if (row.revokedAt) return { status: { revokedAt: row.revokedAt, reason: row.reason ?? 'unspecified' }, asOf: now };
    if (this.issued.size >= ISSUED_CACHE_LIMIT) this.issued.clear();
    this.issued.set(serialHex, row.generation);
    return { status: 'good', asOf: now };
  }

  /**
   * Serials not seen yet, asked about at the same moment, share one `IN (...)` query: a burst of
   * first-time OCSP requests costs a few queries, not one transaction each.
   */
  private lookup(serialHex: string): Promise<IssuedStatus | undefined> {
    return new Promise((resolve, reject) => {
      if (this.lookups.size === 0) setImmediate(() => void this.flushLookups());
      const waiters = this.lookups.get(serialHex) ?? [];
      waiters.push({ resolve, reject });
      this.lookups.set(serialHex, waiters);
    });
  }

  private async flushLookups(): Promise<void> {
    const batch = this.lookups;
    this.lookups = new Map();
    try {
      const found = await this.store.findIssued([...batch.keys()]);
      for (const [serial, waiters] of batch) for (const w of waiters) w.resolve(found.get(serial));
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }

  /** The CRL of CA generation `generation` (default: the first CA); syncs first when none is loaded yet (e.g. in the CLI). */
  async crl(generation = 1): Promise<PublishedCrl> {
    const publisher = this.publisherOf(generation);
    if (!publisher) throw new NotFoundError('no CRL for this CA');
    if (!publisher.current) await this.sync();
    const crl = publisher.current;
    if (!crl) throw new ServiceUnavailableError('the CRL is not available yet');
    return crl;
  }
}
