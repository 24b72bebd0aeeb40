import { CertificateAuthority } from '../ca/certificate-authority';
import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { Clock } from '../shared/clock';
import { BadRequestError } from '../shared/errors';
import { PkiInputError } from '../pki/pki.errors';
import { FailInfo, ScepFailure } from './scep-failure';
import { PkiMessage } from './pki-message.codec';
import type { ScepStoreRepository } from '../db/scep-store.repository';
import { ScepEndpoint, StoredCertificate } from './scep.ports';
import { MessageType, PkiStatus } from './scep.types';
import { RenewalPolicy } from './renewal.policy';
import { checkIssued, checkSubject } from './subject-policy';

const REQUIRED_KEY_BITS = 2048;
const MIN_PUBLIC_EXPONENT = 65537n;

/** PKCSReq and RenewalReq: the checks of RFC 8894 section 3.3.1 plus our policy, then issuance. */
export class EnrollmentHandler {
  private readonly renewal: RenewalPolicy;

  constructor(
    private readonly authority: CertificateAuthority,
    private readonly store: ScepStoreRepository,
    private readonly clock: Clock,
  ) {
    this.renewal = new RenewalPolicy((issuerDer) => Boolean(authority.byIssuer(issuerDer)), store);
  }

  /**
   * Enrolls, and builds the answer with `answer` (the signed CertRep for the certificate). The answer
   * to a new certificate is built while the issuance is being recorded, and returned only once it is
   * recorded: the client never receives a certificate the database does not hold.
   */
  async enroll(
    endpoint: ScepEndpoint,
    msg: PkiMessage,
    content: Buffer,
    answer: (cert: ParsedCertificate) => Promise<Buffer>,
  ): Promise<{ cert: ParsedCertificate; body: Buffer }> {
    const answered = async (cert: ParsedCertificate) => ({ cert, body: await answer(cert) });
    const csr = parseCsr(content, msg.signerCertificate);
    const keyHash = csr.publicKeyHash;
    const tid = msg.transactionId;

    // iOS derives the transactionID from the key, so a retry repeats both: answer it again
    const previous = await this.store.findTransaction(endpoint.id, tid);
    if (previous?.pkiStatus === PkiStatus.SUCCESS && previous.certificateSerial) {
      // not recorded: the transaction stays bound to the first key
      if (previous.publicKeyHash !== keyHash) throw new ScepFailure(FailInfo.badRequest, 'transactionID already used with another key');
      // a request signed by the very certificate this transaction produced is a renewal with the
      // same key (certmonger's resubmit), not a retry: it gets a new certificate
      const renewsOwnResult =
        previous.certificateSerial === msg.signerCertificate.serialHex && Boolean(this.authority.byIssuer(msg.signerCertificate.issuerDer));
      if (!renewsOwnResult) return answered(await this.stored(previous.certificateSerial));
    }
    // a refusal is answered and logged, never stored: unauthenticated clients leave no rows behind,
    // and a refused transactionID stays free for a later request with another key
    return this.issue(endpoint, msg, csr, keyHash, answered);
  }

  private async issue(
    endpoint: ScepEndpoint,
    msg: PkiMessage,
    csr: ParsedCsr,
    keyHash: string,
    answered: (cert: ParsedCertificate) => Promise<{ cert: ParsedCertificate; body: Buffer }>,
  ): Promise<{ cert: ParsedCertificate; body: Buffer }> {
    // what the key and the signature algorithm are is read before the signature is checked, so a
    // key or algorithm we never accept is named as such (badAlg), not as a bad signature
    if (csr.keyType !== 'rsa' || csr.keyBits !== REQUIRED_KEY_BITS) {
      throw new ScepFailure(FailInfo.badAlg, `an RSA key of exactly ${REQUIRED_KEY_BITS} bits is required (got ${csr.keyType} ${csr.keyBits})`);
    }
    // small exponents (e = 3) invite the low-exponent attacks on RSA; every real client uses 65537
    if ((csr.publicExponent ?? 0n) < MIN_PUBLIC_EXPONENT)
      throw new ScepFailure(FailInfo.badAlg, `an RSA public exponent of at least ${MIN_PUBLIC_EXPONENT} is required`);
    if (!csr.signatureHash) throw new ScepFailure(FailInfo.badAlg, `unsupported CSR signature algorithm ${csr.signatureAlgorithmOid}`);
    if (!(await csr.verifySignature())) throw new ScepFailure(FailInfo.badMessageCheck, 'CSR signature does not verify');

    checkSubject(csr.subjectDer, endpoint.subjectRules);

    const { renewing, challengeId, boundDeviceId, supersedes } = await this.authorize(endpoint, msg, csr, keyHash);
    const decision = endpoint.policy.evaluate(csr, renewing);
    if (boundDeviceId !== undefined && decision.deviceId !== boundDeviceId)
      throw new ScepFailure(FailInfo.badRequest, 'the challengePassword was issued for another device');
    // after a rollover's activation time this is the new CA, renewals of the old CA's certificates included
    const { certificate: cert, generation } = await this.authority.issue(csr, decision.profile);
    checkIssued(cert, this.authority.byNumber(generation)!.material.ca.certificate.publicKey);
    // the CertRep is signed while the issuance is written, and released only after it is recorded
    const answering = answered(cert);
    answering.catch(() => undefined); // a failed recording answers otherwise; this answer is dropped
    const outcome = await this.store.recordIssuance(
      {
        endpointId: endpoint.id,
        integrationId: endpoint.integrationId,
        deviceId: decision.deviceId,
        transactionId: msg.transactionId,
        messageType: msg.messageType,
        certificate: cert,
        publicKeyHash: keyHash,
        challengeId,
        supersedes,
        renews: renewing?.serial,
        caGeneration: generation,
      },
      this.clock.now(),
    );
    if (outcome === 'challenge-used') throw new ScepFailure(FailInfo.badRequest, 'challengePassword already used or expired');
    if (outcome === 'already-renewed')
      throw new ScepFailure(FailInfo.badCertId, 'the signing certificate was already renewed or replaced: only the current certificate renews');
    if (outcome === 'duplicate-transaction') {
      // a concurrent identical request won the race: answer what it got
      const winner = await this.store.findTransaction(endpoint.id, msg.transactionId);
      if (winner?.publicKeyHash === keyHash && winner.pkiStatus === PkiStatus.SUCCESS && winner.certificateSerial)
        return answered(await this.stored(winner.certificateSerial));
      throw new ScepFailure(FailInfo.badRequest, 'transactionID already used');
    }
    return answering;
  }

  /**
   * Who vouches for the request. A PKCSReq signed by anything but a certificate we issued must be
   * signed with the CSR's own key (the self-signed certificate of RFC 8894 section 2.3) and carry a
   * valid challenge. A RenewalReq must be signed by a certificate we issued and is a renewal, bounded
   * by RenewalPolicy. A PKCSReq signed by a certificate we issued (certmonger, macOS) is an
   * enrollment when it carries a valid challenge (it then replaces the signing certificate, whatever
   * the renewal window says), else a renewal like a RenewalReq.
   */
  private async authorize(
    endpoint: ScepEndpoint,
    msg: PkiMessage,
    csr: ParsedCsr,
    keyHash: string,
  ): Promise<{ renewing?: StoredCertificate; challengeId?: string; boundDeviceId?: string; supersedes?: string[] }> {
    const signer = msg.signerCertificate;
    const ours = await this.renewal.issuedByUs(signer);
    if (!ours) {
      if (msg.messageType === MessageType.RenewalReq)
        throw new ScepFailure(FailInfo.badCertId, 'RenewalReq must be signed by a valid certificate issued by this CA');
      if (signer.publicKeyHash !== keyHash) throw new ScepFailure(FailInfo.badMessageCheck, 'signer certificate does not hold the CSR key');
      const verdict = await endpoint.verifier.precheck(csr.challengePassword);
      if (!verdict.ok) throw new ScepFailure(FailInfo.badRequest, verdict.reason, verdict.guess === true);
      return { challengeId: verdict.challengeId, boundDeviceId: verdict.deviceId };
    }
    if (msg.messageType === MessageType.PKCSReq && csr.challengePassword) {
      const verdict = await endpoint.verifier.precheck(csr.challengePassword);
      if (verdict.ok) {
        const replaces = ours.integrationId === (endpoint.integrationId ?? null) && ours.status === 'valid';
        return { challengeId: verdict.challengeId, boundDeviceId: verdict.deviceId, supersedes: replaces ? [ours.serial] : undefined };
      }
    }
    this.renewal.check(endpoint, ours, signer, csr, this.clock.now());
    return { renewing: ours };
  }

  private async stored(serial: string): Promise<ParsedCertificate> {
    const cert = await this.store.findCertificate(serial);
    if (!cert) throw new Error(`transaction references missing certificate ${serial}`);
    return ParsedCertificate.fromDer(cert.der);
  }
}

/** `signer` usually holds the CSR's key: its KeyObject is reused (OpenSSL 3 key decoding is slow). */
function parseCsr(content: Buffer, signer: ParsedCertificate): ParsedCsr {
  try {
    return ParsedCsr.fromDer(content, signer);
  } catch (err) {
    if (err instanceof BadRequestError || err instanceof PkiInputError) throw new ScepFailure(FailInfo.badRequest, err.message);
    throw err;
  }
}
