import { buildCrl } from '../pki/crl.builder';
import { readCertificateFields } from '../pki/certificate';
import { Clock } from '../shared/clock';
import type { KeyPairIdentity } from './ca-material';
import type { RevocationRepository } from '../db/revocation.repository';
import type { CrlStateFields, RevokedEntry, StoredCrl } from './revocation.types';

export interface PublishedCrl extends StoredCrl {
  etag: string;
}

export interface CrlSnapshot {
  revision: number;
  entries: RevokedEntry[];
}

/**
 * Publishes one CA generation's CRL through the database (its crl_state row, id = generation; a CRL
 * lists only the certificates that generation issued): the CRL number and the signed CRL live there,
 * so every instance serves the same bytes and numbers only go up. A new CRL is built when a
 * revocation bumped the revision, when none exists (or another CA signed the stored one), and at
 * half its validity, so relying parties always fetch a fresh one well before nextUpdate.
 *
 * Revoked certificates that have expired are left off (RFC 5280 3.3 allows it): the CRL stays
 * small, and OCSP still answers "revoked" for them.
 */
export class CrlPublisher {
  private served?: PublishedCrl;
  readonly issuerKeyId: string;

  constructor(
    private readonly store: RevocationRepository,
    private readonly ca: KeyPairIdentity,
    private readonly clock: Clock,
    private readonly validityMs: number,
    readonly generation = 1,
  ) {
    this.issuerKeyId = readCertificateFields(ca.certificate.der).keyIdentifier.toString('hex');
  }

  get current(): PublishedCrl | undefined {
    return this.served;
  }

  /** Serves what is stored when another instance published it; publishes when one is due. */
  async sync(revision: number, fields: CrlStateFields | undefined, snapshot: () => Promise<CrlSnapshot>): Promise<void> {
    if (!fields) return; // the generation's row is not committed yet
    const state = { ...fields, revision };
    const ours = state.issuerKeyId === this.issuerKeyId && state.crlNumber > 0n;
    if (ours && this.served?.crlNumber !== state.crlNumber) await this.adoptStored();
    const now = this.clock.now();
    const due =
      !ours ||
      !this.served ||
      state.crlRevision !== state.revision ||
      !state.thisUpdate ||
      !state.nextUpdate ||
      now.getTime() >= (state.thisUpdate.getTime() + state.nextUpdate.getTime()) / 2;
    if (!due) return;
    const snap = await snapshot();
    const crl = await this.build(state.crlNumber + 1n, snap, now);
    if (await this.store.storeCrl(this.generation, state.crlNumber, crl, now)) this.served = crl;
    else await this.adoptStored(); // another instance published first: serve its CRL
  }

  private async adoptStored(): Promise<void> {
    const stored = await this.store.loadCrl(this.generation);
    if (stored && stored.issuerKeyId === this.issuerKeyId && (!this.served || stored.crlNumber > this.served.crlNumber)) {
      this.served = { ...stored, etag: etagOf(stored) };
    }
  }

  private async build(crlNumber: bigint, snap: CrlSnapshot, now: Date): Promise<PublishedCrl> {
    const t = now.getTime();
    const entries = snap.entries.filter((e) => e.generation === this.generation && e.notAfter.getTime() > t);
    const thisUpdate = new Date(Math.floor(t / 1000) * 1000); // the CRL carries whole seconds
    const nextUpdate = new Date(thisUpdate.getTime() + this.validityMs);
    const der = await buildCrl({ issuerCertDer: this.ca.certificate.der, issuerKey: this.ca.key, crlNumber, thisUpdate, nextUpdate, entries });
    const crl: StoredCrl = { der, crlNumber, revision: snap.revision, issuerKeyId: this.issuerKeyId, thisUpdate, nextUpdate };
    return { ...crl, etag: etagOf(crl) };
  }
}

function etagOf(crl: StoredCrl): string {
  return `"${crl.issuerKeyId.slice(0, 16)}-${crl.crlNumber}"`;
}
