import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { FailInfo, ScepFailure } from './scep-failure';
import type { ScepStoreRepository } from '../db/scep-store.repository';
import { ScepEndpoint, StoredCertificate } from './scep.ports';

const DAY_MS = 86_400_000;

/**
 * Refuses a renewal of `current` before the window of `days` days that ends when it expires: a device
 * renews near the end of its certificate's life, not whenever it likes.
 */
export function checkRenewalWindow(current: StoredCertificate, now: Date, days: number): void {
  const opens = new Date(current.notAfter.getTime() - days * DAY_MS);
  if (now < opens) {
    throw new ScepFailure(FailInfo.badRequest, `renewal not yet allowed: the ${days}-day renewal window opens ${opens.toISOString()}`);
  }
}

/**
 * The bounds of a renewal authenticated by a certificate instead of a challenge (RenewalReq, or a
 * PKCSReq signed by a certificate we issued, as certmonger and macOS send it). Such a request proves
 * only that the device holds the old key, so it may ask for nothing the old certificate did not
 * carry: the same subject on the same endpoint, from a certificate that is still the device's
 * current one (valid: not superseded, revoked or expired), inside the renewal window. That the
 * certificate renews only once is enforced when the issuance is recorded (a conditional update and
 * a unique index on certificates.renewed_from), so two concurrent renewals cannot both win.
 */
export class RenewalPolicy {
  constructor(
    /** true when a CA generation of ours has this subject (certificates of every generation renew) */
    private readonly isOurCa: (issuerDer: Buffer) => boolean,
    private readonly store: ScepStoreRepository,
  ) {}

  /** The stored row of `signer` when it is a certificate this CA issued (same DER), else undefined. */
  async issuedByUs(signer: ParsedCertificate): Promise<StoredCertificate | undefined> {
    if (!this.isOurCa(signer.issuerDer)) return undefined;
    const stored = await this.store.findCertificate(signer.serialHex);
    return stored && stored.der.equals(signer.der) ? stored : undefined;
  }

  /** Throws a ScepFailure unless `current` (which signed the request as `signer`) may be renewed into `csr` now. */
  check(endpoint: ScepEndpoint, current: StoredCertificate, signer: ParsedCertificate, csr: ParsedCsr, now: Date): void {
    if (current.integrationId !== (endpoint.integrationId ?? null)) throw new ScepFailure(FailInfo.badCertId, 'certificate belongs to another endpoint');
    if (current.status === 'revoked') throw new ScepFailure(FailInfo.badCertId, 'the signing certificate is revoked');
    if (current.status === 'superseded')
      throw new ScepFailure(FailInfo.badCertId, 'the signing certificate was already renewed or replaced: only the current certificate renews');
    if (current.notAfter <= now) throw new ScepFailure(FailInfo.badCertId, 'the signing certificate has expired: enroll again with a challenge');
    if (!csr.subjectDer.equals(signer.subjectDer)) throw new ScepFailure(FailInfo.badRequest, 'a renewal must keep the subject of the certificate it renews');
    endpoint.policy.checkRenewal(current, now);
  }
}
