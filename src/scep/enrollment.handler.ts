import { CertificateAuthority } from '../ca/certificate-authority';
import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { Clock } from '../shared/clock';
import { BadRequestError, FailInfo, ScepFailure } from '../shared/errors';
import { PkiMessage } from './pki-message.codec';
import { ScepEndpoint, ScepStore, StoredCertificate } from './scep-ports';
import { MessageType, PkiStatus } from './scep-types';
import { checkSubject, parseBack } from './subject-policy';

const REQUIRED_KEY_BITS = 2048;

/** PKCSReq and RenewalReq: the checks of RFC 8894 section 3.3.1 plus our policy, then issuance. */
export class EnrollmentHandler {
  constructor(
    private readonly authority: CertificateAuthority,
    private readonly store: ScepStore,
    private readonly clock: Clock,
  ) {}

  async enroll(endpoint: ScepEndpoint, msg: PkiMessage, content: Buffer): Promise<ParsedCertificate> {
    const csr = parseCsr(content, msg.signerCertificate);
    const keyHash = csr.publicKeyHash;
    const tid = msg.transactionId;

    // iOS derives the transactionID from the key, so a retry repeats both: answer it again
    const previous = await this.store.findTransaction(endpoint.id, tid);
    if (previous) {
      // not recorded: the transaction stays bound to the first key
      if (previous.publicKeyHash !== keyHash) throw new ScepFailure(FailInfo.badRequest, 'transactionID already used with another key');
      // a request signed by the very certificate this transaction produced is a renewal with the
      // same key (certmonger's resubmit), not a retry: it gets a new certificate
      const renewsOwnResult = previous.certificateSerial === msg.signerCertificate.serialHex && msg.signerCertificate.issuerDer.equals(this.authority.caCertificate.subjectDer);
      if (previous.pkiStatus === PkiStatus.SUCCESS && previous.certificateSerial && !renewsOwnResult) return this.stored(previous.certificateSerial);
    }
    try {
      return await this.issue(endpoint, msg, csr, keyHash);
    } catch (err) {
      if (err instanceof ScepFailure) await this.store.recordFailure(endpoint.id, tid, keyHash, msg.messageType, err.failInfo, err.message, this.clock.now());
      throw err;
    }
  }

  private async issue(endpoint: ScepEndpoint, msg: PkiMessage, csr: ParsedCsr, keyHash: string): Promise<ParsedCertificate> {
    if (!(await csr.verifySignature())) throw new ScepFailure(FailInfo.badMessageCheck, 'CSR signature does not verify');
    if (csr.keyType !== 'rsa' || csr.keyBits !== REQUIRED_KEY_BITS) {
      throw new ScepFailure(FailInfo.badAlg, `an RSA key of exactly ${REQUIRED_KEY_BITS} bits is required (got ${csr.keyType} ${csr.keyBits})`);
    }

    checkSubject(csr.subjectDer, endpoint.subjectRules);

    const signer = msg.signerCertificate;
    const renewing = await this.renewalSource(endpoint, msg, signer, keyHash);
    let challengeId: string | undefined;
    let boundDeviceId: string | undefined;
    if (!renewing) {
      const verdict = await endpoint.verifier.precheck(csr.challengePassword);
      if (!verdict.ok) throw new ScepFailure(FailInfo.badRequest, verdict.reason);
      challengeId = verdict.challengeId;
      boundDeviceId = verdict.deviceId;
    }
    const decision = endpoint.policy.evaluate(csr, renewing);
    if (boundDeviceId !== undefined && decision.deviceId !== boundDeviceId) throw new ScepFailure(FailInfo.badRequest, 'the challengePassword was issued for another device');
    const cert = await this.authority.issue(csr, decision.profile);
    parseBack(cert, this.authority.caCertificate.publicKey);
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
        supersedes: renewing ? [renewing.serial] : undefined,
      },
      this.clock.now(),
    );
    if (outcome === 'challenge-used') throw new ScepFailure(FailInfo.badRequest, 'challengePassword already used or expired');
    if (outcome === 'duplicate-transaction') {
      // a concurrent identical request won the race: answer what it got
      const winner = await this.store.findTransaction(endpoint.id, msg.transactionId);
      if (winner?.publicKeyHash === keyHash && winner.pkiStatus === PkiStatus.SUCCESS && winner.certificateSerial) return this.stored(winner.certificateSerial);
      throw new ScepFailure(FailInfo.badRequest, 'transactionID already used');
    }
    return cert;
  }

  /**
   * A request signed by a valid certificate we issued is a renewal (RenewalReq, or certmonger's
   * PKCSReq signed with the current certificate). A PKCSReq signed by anything else must be signed
   * with the CSR's own key (the self-signed certificate of RFC 8894 section 2.3).
   */
  private async renewalSource(endpoint: ScepEndpoint, msg: PkiMessage, signer: ParsedCertificate, keyHash: string): Promise<StoredCertificate | undefined> {
    const ours = signer.issuerDer.equals(this.authority.caCertificate.subjectDer) ? await this.store.findCertificate(signer.serialHex) : undefined;
    const usable = ours && ours.der.equals(signer.der) && ours.status !== 'revoked' && ours.notAfter > this.clock.now() ? ours : undefined;
    if (msg.messageType === MessageType.RenewalReq) {
      if (!usable) throw new ScepFailure(FailInfo.badCertId, 'RenewalReq must be signed by a valid certificate issued by this CA');
    } else if (!usable) {
      if (signer.publicKeyHash !== keyHash) throw new ScepFailure(FailInfo.badMessageCheck, 'signer certificate does not hold the CSR key');
      return undefined;
    }
    if (usable.integrationId !== (endpoint.integrationId ?? null)) throw new ScepFailure(FailInfo.badCertId, 'certificate belongs to another endpoint');
    endpoint.policy.checkRenewal?.(usable, this.clock.now());
    return usable;
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
    if (err instanceof BadRequestError) throw new ScepFailure(FailInfo.badRequest, err.message);
    throw err;
  }
}
