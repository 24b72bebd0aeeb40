import { Clock } from '../shared/clock';
import { ServiceUnavailableError } from '../shared/errors';
import type { OcspCertStatus } from '../pki/ocsp-codec';
import type { CrlPublisher, CrlSnapshot, PublishedCrl } from './crl-publisher';
import type { RevocationStore, RevokedEntry } from './revocation-ports';

export interface RevocationViewOptions {
  /** how often the database is polled for revocations made elsewhere (CLI, other instances) */
  pollMs: number;
  /** certificates the CA issued outside the certificates table (RA pair, OCSP signer): always known */
  extraIssuedSerials?: string[];
  onError(err: unknown): void;
}

/** Bound on the positive cache of issued serials; past it the cache starts over. */
const ISSUED_CACHE_LIMIT = 200_000;

/**
 * This process's view of the revocation state: every revoked serial in memory (so OCSP answers
 * without a database round trip) and the CRL being served. It polls a revision counter that every
 * revocation bumps, reloads when it moves, and lets the publisher republish; a revocation made in
 * this process calls sync() right after its commit, so both are current within a second.
 */
export class RevocationView {
  private revoked = new Map<string, RevokedEntry>();
  private revision = -1;
  private readonly issued = new Set<string>();
  private readonly extraIssued: ReadonlySet<string>;
  private syncedAt?: Date;
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;

  constructor(
    private readonly store: RevocationStore,
    readonly publisher: CrlPublisher,
    private readonly clock: Clock,
    private readonly opts: RevocationViewOptions,
  ) {
    this.extraIssued = new Set(opts.extraIssuedSerials ?? []);
  }

  /** First sync (publishes a CRL if none exists), then polls until stop(). */
  async start(): Promise<void> {
    await this.sync();
    this.timer ??= setInterval(() => this.sync().catch((err) => this.opts.onError(err)), this.opts.pollMs);
    this.timer.unref();
  }

  /** Stops polling and waits for a sync in progress (so the database can close under it). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * Brings the view up to date. Calls made while a sync runs share one follow-up sync that starts
   * after it, so a revocation committed mid-sync is never missed and bursts cost two syncs at most.
   */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.running.then(() => {
      this.queued = undefined;
      return this.syncOnce();
    });
    this.queued = next;
    this.running = next.catch(() => undefined);
    return next;
  }

  private async syncOnce(): Promise<void> {
    const startedAt = this.clock.now();
    const state = await this.store.readState();
    let snap: CrlSnapshot | undefined;
    const load = async (): Promise<CrlSnapshot> => {
      snap ??= await this.store.loadRevoked(this.clock.now());
      if (snap.revision !== this.revision || this.revoked.size !== snap.entries.length) {
        this.revoked = new Map(snap.entries.map((e) => [e.serialHex, e]));
        this.revision = snap.revision;
      }
      return snap;
    };
    if (state.revision !== this.revision) await load();
    await this.publisher.sync(state, load);
    this.syncedAt = startedAt;
  }

  /** When the revoked set was last known to match the database; undefined before the first sync. */
  get lastSyncAt(): Date | undefined {
    return this.syncedAt;
  }

  get revokedCount(): number {
    return this.revoked.size;
  }

  /** OCSP status of a serial of this CA: the revoked map first, then issued serials (cached). */
  async status(serialHex: string): Promise<{ status: OcspCertStatus; asOf: Date }> {
    const asOf = this.syncedAt ?? this.clock.now();
    const r = this.revoked.get(serialHex);
    if (r) return { status: { revokedAt: r.revokedAt, reason: r.reason }, asOf };
    if (this.issued.has(serialHex) || this.extraIssued.has(serialHex)) return { status: 'good', asOf };
    const now = this.clock.now();
    const row = await this.store.findIssued(serialHex);
    if (!row) return { status: 'unknown', asOf: now };
    // revoked in the database but not yet in the map: the database is newer
    if (row.revokedAt) return { status: { revokedAt: row.revokedAt, reason: row.reason ?? 'unspecified' }, asOf: now };
    if (this.issued.size >= ISSUED_CACHE_LIMIT) this.issued.clear();
    this.issued.add(serialHex);
    return { status: 'good', asOf: now };
  }

  /** The CRL being served; syncs first when none is loaded yet (e.g. in the CLI). */
  async crl(): Promise<PublishedCrl> {
    if (!this.publisher.current) await this.sync();
    const crl = this.publisher.current;
    if (!crl) throw new ServiceUnavailableError('the CRL is not available yet');
    return crl;
  }
}
