import { CertificateAuthority } from '../ca/certificate-authority';
import { decryptEnvelopedDataAsync } from '../pki/cms-enveloped-data';
import { ContentCipher } from '../pki/content-cipher';
import { RsaKeyTransport } from '../pki/rsa-key-transport';
import { ParsedCertificate } from '../pki/certificate';
import { Clock } from '../shared/clock';
import { asStorageUnavailable, BadRequestError } from '../shared/errors';
import { PkiInputError } from '../pki/pki.errors';
import { FailInfo, ScepFailure } from './scep-failure';
import { decodeIssuerAndSerial, decodeIssuerAndSubject, decodePkiMessage, CertRepInput, encodeCertRep, PkiMessage } from './pki-message.codec';
import type { ScepStoreRepository } from '../db/scep-store.repository';
import { ScepEndpoint } from './scep.ports';
import { MessageType, PkiStatus, SCEP_CAPABILITIES } from './scep.types';
import { EnrollmentHandler } from './enrollment-handler';
import { GetCertAccess } from './getcert-access';

/** What one PKIOperation did, for the structured log line. */
export interface ScepOutcome {
  body: Buffer;
  messageType: number;
  transactionId: string;
  pkiStatus: PkiStatus;
  failInfo?: FailInfo;
  failText?: string;
  serial?: string;
  /** the internal fault behind a FAILURE (a database that could not be written), for the log only */
  cause?: unknown;
  /** refused for a challengePassword that matches no challenge: the listener counts it against the client */
  challengeGuess?: boolean;
}

/** Answers GetCACaps, GetCACert and PKIOperation (RFC 8894) for any endpoint. */
export class ScepService {
  private readonly enrollment: EnrollmentHandler;
  private readonly getCertAccess: GetCertAccess;

  constructor(
    private readonly authority: CertificateAuthority,
    private readonly store: ScepStoreRepository,
    private readonly transport: RsaKeyTransport,
    private readonly clock: Clock,
    /** the CRL of the CA generation with this subject (GetCRL names the issuer) */
    private readonly crlSource?: (issuerDer: Buffer) => Promise<Buffer>,
  ) {
    this.enrollment = new EnrollmentHandler(authority, store, clock);
    this.getCertAccess = new GetCertAccess(authority, store, clock);
  }

  /** GetNextCACert is offered only while a next CA is scheduled (RFC 8894 3.5.2). */
  capabilities(): string {
    return (this.authority.next() ? [...SCEP_CAPABILITIES, 'GetNextCACert'] : SCEP_CAPABILITIES).join('\n');
  }

  caCert(): { contentType: string; body: Buffer } {
    return this.authority.caCertResponse;
  }

  /** The signed GetNextCACert answer, or undefined when no next CA is scheduled. */
  nextCaCert(): Promise<{ contentType: string; body: Buffer }> | undefined {
    return this.authority.nextCaCertResponse();
  }

  /**
   * Before decryption a bad message is an HTTP 400 (BadRequestError); once we can read it, a
   * refusal is a signed CertRep FAILURE with a precise failInfo.
   */
  async pkiOperation(endpoint: ScepEndpoint, der: Buffer): Promise<ScepOutcome> {
    const msg = decodePkiMessage(der);
    if (!(await msg.verify())) {
      return this.failure(msg, FailInfo.badMessageCheck, 'message signature or digest does not verify');
    }
    if (!msg.envelope) throw new BadRequestError('pkiMessage carries no pkcsPKIEnvelope');
    const { content, cipher } = await decryptEnvelopedDataAsync(msg.envelope, this.authority.decryptionIdentities, this.transport);
    try {
      return await this.dispatch(endpoint, msg, content, cipher);
    } catch (err) {
      if (err instanceof ScepFailure) return { ...(await this.failure(msg, err.failInfo, err.message)), challengeGuess: err.challengeGuess };
      // nothing was recorded, so nothing is returned but a refusal the client may retry
      const storage = asStorageUnavailable(err);
      if (storage) return { ...(await this.failure(msg, FailInfo.badRequest, storage.message)), cause: err };
      throw err;
    }
  }

  private async dispatch(endpoint: ScepEndpoint, msg: PkiMessage, content: Buffer, cipher: ContentCipher): Promise<ScepOutcome> {
    switch (msg.messageType) {
      case MessageType.PKCSReq:
      case MessageType.RenewalReq: {
        const { cert, body } = await this.enrollment.enroll(endpoint, msg, content, (c) => this.successBody(msg, cipher, { certificates: [c] }));
        return this.successOutcome(msg, body, cert.serialHex);
      }
      case MessageType.CertPoll: {
        // the transactionID identifies the request; IssuerAndSubject is only checked for form
        parseOrFail(() => decodeIssuerAndSubject(content));
        const tx = await this.store.findTransaction(endpoint.id, msg.transactionId);
        if (!tx) throw new ScepFailure(FailInfo.badCertId, 'no request with this transactionID');
        if (tx.publicKeyHash !== msg.signerCertificate.publicKeyHash) throw new ScepFailure(FailInfo.badRequest, 'transactionID belongs to another key');
        if (tx.pkiStatus !== PkiStatus.SUCCESS || !tx.certificateSerial)
          throw new ScepFailure(tx.failInfo ?? FailInfo.badRequest, tx.failText ?? 'request was refused');
        const cert = await this.certificateBySerial(tx.certificateSerial);
        return this.success(msg, cipher, { certificates: [cert] }, cert.serialHex);
      }
      case MessageType.GetCert: {
        const ias = parseOrFail(() => decodeIssuerAndSerial(content));
        const cert = await this.getCertAccess.certificateFor(endpoint, msg.signerCertificate, ias);
        return this.success(msg, cipher, { certificates: [cert] }, cert.serialHex);
      }
      case MessageType.GetCRL: {
        const ias = parseOrFail(() => decodeIssuerAndSerial(content));
        if (!this.crlSource) throw new ScepFailure(FailInfo.badRequest, 'GetCRL is not available');
        return this.success(msg, cipher, { crl: await this.crlSource(ias.issuerDer) });
      }
      default:
        throw new ScepFailure(FailInfo.badRequest, `unsupported messageType ${msg.messageType}`);
    }
  }

  private async certificateBySerial(serial: string): Promise<ParsedCertificate> {
    const stored = await this.store.findCertificate(serial);
    if (!stored) throw new ScepFailure(FailInfo.badCertId, 'no certificate with this serial number');
    return ParsedCertificate.fromDer(stored.der);
  }

  private async success(
    msg: PkiMessage,
    cipher: ContentCipher,
    payload: { certificates?: ParsedCertificate[]; crl?: Buffer },
    serial?: string,
  ): Promise<ScepOutcome> {
    return this.successOutcome(msg, await this.successBody(msg, cipher, payload), serial);
  }

  /** A signed CertRep SUCCESS carrying `payload`, enveloped for the requester. */
  private successBody(msg: PkiMessage, cipher: ContentCipher, payload: { certificates?: ParsedCertificate[]; crl?: Buffer }): Promise<Buffer> {
    // answer with the client's own algorithm: a client may not support another one
    return this.certRep(msg, { status: PkiStatus.SUCCESS, success: { ...payload, recipient: msg.signerCertificate, cipher } });
  }

  private successOutcome(msg: PkiMessage, body: Buffer, serial?: string): ScepOutcome {
    return { body, messageType: msg.messageType, transactionId: msg.transactionId, pkiStatus: PkiStatus.SUCCESS, serial };
  }

  private async failure(msg: PkiMessage, failInfo: FailInfo, text: string): Promise<ScepOutcome> {
    const body = await this.certRep(msg, { status: PkiStatus.FAILURE, failInfo, failInfoText: text });
    return { body, messageType: msg.messageType, transactionId: msg.transactionId, pkiStatus: PkiStatus.FAILURE, failInfo, failText: text };
  }

  /** A CertRep answering `msg`, signed by the response signer (CA, or RA signing certificate). */
  private certRep(msg: PkiMessage, outcome: Pick<CertRepInput, 'status' | 'failInfo' | 'failInfoText' | 'success'>): Promise<Buffer> {
    const signer = this.authority.responseSigner;
    return encodeCertRep({
      transactionId: msg.transactionId,
      recipientNonce: msg.senderNonce,
      digest: msg.digest,
      signerCert: signer.certificate,
      signerKey: signer.key,
      certificates: this.authority.responseCertificates,
      ...outcome,
    });
  }
}

function parseOrFail<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BadRequestError || err instanceof PkiInputError) throw new ScepFailure(FailInfo.badRequest, err.message);
    throw err;
  }
}
