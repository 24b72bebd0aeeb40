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
  /** renew a delegated signer this long before it expires (default: a third of its validity) */
  renewBeforeMs?: number;
  /** the CA generation of `ca` (default 1) */
  generation?: number;
  /** a delegated signer was renewed (its serial is then known to the revocation view) */
  onRenewed?(generation: number, signer: KeyPairIdentity): void;
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

/** One CA generation the responder answers for, with its own signer. */
export interface OcspIssuer {
  generation: number;
  ca: KeyPairIdentity;
  signer: KeyPairIdentity;
  delegated: boolean;
  renewSigner?: (now: Date) => Promise<KeyPairIdentity>;
}

interface IssuerState extends OcspIssuer {
  /** issuerNameHash + issuerKeyHash per CertID hash, computed once */
  hashes: Map<OcspHashAlgorithm, Buffer>;
  extraCerts: Uint8Array[];
  renewing?: Promise<void>;
}

/**
 * RFC 6960 responder for our CA generations (the first CA, and the CAs of later rollovers): a
 * request is answered by the generation its first CertID names (issuer name and key hash), with that
 * generation's signer; its other CertIDs get `unknown`. Statuses come from the in-memory revocation
 * view (no database round trip for known serials); the signature runs in libuv's thread pool, so
 * both cores sign. A request about another CA's certificates only is `unauthorized` (RFC 5019
 * 2.2.3). Nothing thrown here reaches HTTP: failures become internalError.
 */
export class OcspResponder {
  private issuers: IssuerState[] = [];
  /** signed answers to nonce-less requests, by request DER (RFC 5019 2.1: pre-produced responses) */
  private readonly presigned = new Map<string, Presigned>();

  constructor(
    ca: KeyPairIdentity,
    private readonly view: RevocationView,
    private readonly clock: Clock,
    private readonly opts: OcspResponderOptions,
  ) {
    this.addIssuer({ generation: opts.generation ?? 1, ca, signer: opts.signer, delegated: opts.delegated, renewSigner: opts.renewSigner });
  }

  /** Answers for another CA generation too (a rollover). */
  addIssuer(i: OcspIssuer): void {
    if (this.issuers.some((x) => x.generation === i.generation)) return;
    const hashes = new Map(
      HASHES.map((h) => {
        const id = certIdFor(i.ca.certificate.der, '01', h);
        return [h, Buffer.concat([id.issuerNameHash, id.issuerKeyHash])] as const;
      }),
    );
    this.issuers = [...this.issuers, { ...i, hashes, extraCerts: i.delegated ? [i.signer.certificate.der] : [] }];
  }

  /** The current signer of generation `generation` (tests, `scepter ca show`). */
  signerOf(generation: number): KeyPairIdentity | undefined {
    return this.issuers.find((i) => i.generation === generation)?.signer;
  }

  private issuerOf(id: OcspCertId): IssuerState | undefined {
    return this.issuers.find((i) => {
      const expected = i.hashes.get(id.hashAlgorithm)!;
      const half = expected.length / 2;
      return expected.subarray(0, half).equals(id.issuerNameHash) && expected.subarray(half).equals(id.issuerKeyHash);
    });
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
      const issuer = request.requests.map((id) => this.issuerOf(id)).find((i) => i !== undefined);
      if (!issuer) return error('unauthorized');
      this.maybeRenewSigner(issuer, now);
      const ours = request.requests.map((id) => this.issuerOf(id) === issuer);
      const signer = issuer.signer;
      const synced = this.view.lastSyncAt;
      if (!synced || now.getTime() - synced.getTime() > this.opts.maxStaleMs) return error('tryLater');
      // most relying parties send no nonce: the same question gets the same signed answer until a
      // revocation is seen (the revision moves) or it is a minute old
      const revision = this.view.revisionSeen;
      const key = request.nonce || !this.opts.presignedMaxAgeMs ? undefined : Buffer.from(der).toString('base64');
      const hit = key ? this.presigned.get(key) : undefined;
      if (hit && hit.revision === revision && hit.signer === signer && now.getTime() - hit.at < this.opts.presignedMaxAgeMs)
        return { body: hit.body, status: 'successful' };

      const responses: OcspSingleResponse[] = await Promise.all(
        request.requests.map(async (certId, i) => {
          if (!ours[i]) return { certId, status: 'unknown' as const, thisUpdate: now };
          const { status, asOf } = await this.view.status(certId.serialHex, issuer.generation);
          // no nextUpdate: newer status is always available here (RFC 6960 2.4), so nobody caches a "good"
          return { certId, status, thisUpdate: asOf.getTime() > now.getTime() ? now : asOf };
        }),
      );
      const body = await buildOcspResponse({
        responderCertDer: signer.certificate.der,
        responderKey: signer.key,
        issuerCertDer: issuer.ca.certificate.der,
        extraCerts: issuer.extraCerts,
        responses,
        nonce: request.nonce,
        producedAt: now,
        responderIdByKey: true,
      });
      // "unknown" may turn into "good" without a revision change (a new certificate): never reused
      if (key && responses.every((r) => r.status !== 'unknown')) {
        if (this.presigned.size >= PRESIGNED_LIMIT) this.presigned.clear();
        this.presigned.set(key, { body, revision, signer, at: now.getTime() });
      }
      return { body, status: 'successful' };
    } catch (err) {
      this.opts.onError(err);
      return error('internalError');
    }
  }

  /**
   * A delegated signer is renewed in the background once it is within its renewal margin (default:
   * two thirds of its validity passed).
   */
  private maybeRenewSigner(issuer: IssuerState, now: Date): void {
    const renew = issuer.renewSigner;
    if (!renew || issuer.renewing) return;
    const c = issuer.signer.certificate;
    const margin = this.opts.renewBeforeMs ?? (c.notAfter.getTime() - c.notBefore.getTime()) / 3;
    if (now.getTime() < c.notAfter.getTime() - margin) return;
    issuer.renewing = renew(now)
      .then((s) => {
        issuer.signer = s;
        issuer.extraCerts = [s.certificate.der];
        this.opts.onRenewed?.(issuer.generation, s);
      })
      .catch((err) => this.opts.onError(err))
      .finally(() => {
        // retried at most once a minute on failure
        setTimeout(() => (issuer.renewing = undefined), 60_000).unref();
      });
  }
}
