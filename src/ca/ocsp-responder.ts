import { Clock } from '../shared/clock';
import {
  buildOcspError,
  buildOcspResponse,
  certIdFor,
  OcspMalformedError,
  parseOcspRequest,
  type OcspCertId,
  type OcspErrorStatus,
  type OcspHashAlgorithm,
  type OcspSingleResponse,
} from '../pki/ocsp.codec';
import type { KeyPairIdentity } from './ca-material';
import type { RevocationView } from './revocation-view';

export interface OcspResponderOptions {
  /** the CA itself, or a delegated responder certificate it issued */
  signer: KeyPairIdentity;
  delegated: boolean;
  /** replaces a delegated signer that is getting old (called in the background) */
  renewSigner?: (now: Date) => Promise<KeyPairIdentity>;
  /** answer tryLater when the revoked set has not been refreshed for this long */
  maxStaleMs: number;
  /** at most this many certificates per request */
  maxRequests: number;
  /** how long an answer to a request without a nonce is reused while no revocation happens (0: never) */
  presignedMaxAgeMs: number;
  onError(err: unknown): void;
}

export interface OcspAnswer {
  body: Buffer;
  status: 'successful' | OcspErrorStatus;
}

// The error answers never change: encode them once.
const ERRORS = new Map<OcspErrorStatus, Buffer>(
  (['malformedRequest', 'internalError', 'tryLater', 'unauthorized'] as const).map((s) => [s, buildOcspError(s)]),
);
const error = (status: OcspErrorStatus): OcspAnswer => ({ body: ERRORS.get(status)!, status });

const HASHES: OcspHashAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const PRESIGNED_LIMIT = 10_000;

interface Presigned {
  body: Buffer;
  revision: number;
  signer: KeyPairIdentity;
  at: number;
}

/**
 * RFC 6960 responder for this CA. Statuses come from the in-memory revocation view (no database
 * round trip for known serials); the signature runs in libuv's thread pool, so both cores sign.
 * A request about another CA's certificates only is `unauthorized` (RFC 5019 2.2.3); in a mixed
 * request those get `unknown`. Nothing thrown here reaches HTTP: failures become internalError.
 */
export class OcspResponder {
  /** our issuerNameHash + issuerKeyHash per CertID hash, computed once */
  private readonly issuerHashes: Map<OcspHashAlgorithm, Buffer>;
  private signer: KeyPairIdentity;
  private extraCerts: Uint8Array[];
  private renewing?: Promise<void>;
  /** signed answers to nonce-less requests, by request DER (RFC 5019 2.1: pre-produced responses) */
  private readonly presigned = new Map<string, Presigned>();

  constructor(
    private readonly ca: KeyPairIdentity,
    private readonly view: RevocationView,
    private readonly clock: Clock,
    private readonly opts: OcspResponderOptions,
  ) {
    this.issuerHashes = new Map(
      HASHES.map((h) => {
        const id = certIdFor(ca.certificate.der, '01', h);
        return [h, Buffer.concat([id.issuerNameHash, id.issuerKeyHash])];
      }),
    );
    this.signer = opts.signer;
    this.extraCerts = opts.delegated ? [opts.signer.certificate.der] : [];
  }

  private isOurs(id: OcspCertId): boolean {
    const expected = this.issuerHashes.get(id.hashAlgorithm)!;
    const half = expected.length / 2;
    return expected.subarray(0, half).equals(id.issuerNameHash) && expected.subarray(half).equals(id.issuerKeyHash);
  }

  async respond(der: Uint8Array): Promise<OcspAnswer> {
    try {
      let request;
      try {
        request = parseOcspRequest(der, { maxRequests: this.opts.maxRequests });
      } catch (err) {
        if (err instanceof OcspMalformedError) return error('malformedRequest');
        throw err;
      }
      const now = this.clock.now();
      this.maybeRenewSigner(now);
      const ours = request.requests.map((id) => this.isOurs(id));
      if (!ours.includes(true)) return error('unauthorized');
      const synced = this.view.lastSyncAt;
      if (!synced || now.getTime() - synced.getTime() > this.opts.maxStaleMs) return error('tryLater');
      // most relying parties send no nonce: the same question gets the same signed answer until a
      // revocation is seen (the revision moves) or it is a minute old
      const revision = this.view.revisionSeen;
      const key = request.nonce || !this.opts.presignedMaxAgeMs ? undefined : Buffer.from(der).toString('base64');
      const hit = key ? this.presigned.get(key) : undefined;
      if (hit && hit.revision === revision && hit.signer === this.signer && now.getTime() - hit.at < this.opts.presignedMaxAgeMs)
        return { body: hit.body, status: 'successful' };

      const responses: OcspSingleResponse[] = await Promise.all(
        request.requests.map(async (certId, i) => {
          if (!ours[i]) return { certId, status: 'unknown' as const, thisUpdate: now };
          const { status, asOf } = await this.view.status(certId.serialHex);
          // no nextUpdate: newer status is always available here (RFC 6960 2.4), so nobody caches a "good"
          return { certId, status, thisUpdate: asOf.getTime() > now.getTime() ? now : asOf };
        }),
      );
      const body = await buildOcspResponse({
        responderCertDer: this.signer.certificate.der,
        responderKey: this.signer.key,
        issuerCertDer: this.ca.certificate.der,
        extraCerts: this.extraCerts,
        responses,
        nonce: request.nonce,
        producedAt: now,
        responderIdByKey: true,
      });
      // "unknown" may turn into "good" without a revision change (a new certificate): never reused
      if (key && responses.every((r) => r.status !== 'unknown')) {
        if (this.presigned.size >= PRESIGNED_LIMIT) this.presigned.clear();
        this.presigned.set(key, { body, revision, signer: this.signer, at: now.getTime() });
      }
      return { body, status: 'successful' };
    } catch (err) {
      this.opts.onError(err);
      return error('internalError');
    }
  }

  /** A delegated signer is renewed in the background once two thirds of its validity have passed. */
  private maybeRenewSigner(now: Date): void {
    const renew = this.opts.renewSigner;
    if (!renew || this.renewing) return;
    const c = this.signer.certificate;
    const renewAt = c.notBefore.getTime() + ((c.notAfter.getTime() - c.notBefore.getTime()) * 2) / 3;
    if (now.getTime() < renewAt) return;
    this.renewing = renew(now)
      .then((s) => {
        this.signer = s;
        this.extraCerts = [s.certificate.der];
      })
      .catch((err) => this.opts.onError(err))
      .finally(() => {
        // retried at most once a minute on failure
        setTimeout(() => (this.renewing = undefined), 60_000).unref();
      });
  }
}
