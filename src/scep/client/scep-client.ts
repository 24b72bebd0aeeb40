import { generateKeyPair, KeyObject, createPublicKey } from 'node:crypto';
import { promisify } from 'node:util';
import { ParsedCertificate } from '../../pki/certificate';
import { buildCertificate } from '../../pki/certificate.builder';
import { buildCsr } from '../../pki/csr.builder';
import { contentCipherByOid, ContentCipher } from '../../pki/content-cipher';
import { parseCertsOnly } from '../../pki/cms-signed-data';
import { OID } from '../../pki/oids';
import { HashName } from '../../pki/sign';
import { buildName, NameAttribute } from '../../pki/names';
import { randomSerial } from '../../ca/ca-material';
import { FailInfo, MessageType, PkiStatus } from '../scep.types';
import { buildPkiMessage, openCertRep } from './scep-client.codec';

const generateRsa = promisify(generateKeyPair);

export interface CaCertificates {
  ca: ParsedCertificate;
  raSigning?: ParsedCertificate;
  raEncryption?: ParsedCertificate;
  /** who requests are encrypted to: the RA encryption certificate when present */
  recipient: ParsedCertificate;
}

export interface PreparedRequest {
  der: Buffer;
  transactionId: string;
  senderNonce: Buffer;
  requester: { certificate: ParsedCertificate; key: KeyObject };
}

export interface EnrollResult {
  status: PkiStatus;
  certificate?: ParsedCertificate;
  failInfo?: FailInfo;
  failText?: string;
  transactionId: string;
  key: KeyObject;
  signatureValid: boolean;
  recipientNonceMatches: boolean;
  cipherOid?: string;
  signerSerial: string;
}

export async function newRsaKey(bits = 2048): Promise<KeyObject> {
  return (await generateRsa('rsa', { modulusLength: bits })).privateKey;
}

/** The self-signed certificate RFC 8894 section 2.3 asks a new client to sign its request with. */
/** `subject`: a Name's DER (see buildName()). */
export async function selfSignedFor(key: KeyObject, subject: Uint8Array): Promise<ParsedCertificate> {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const now = Date.now();
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject,
      issuer: subject,
      subjectPublicKeyInfo: spki,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      keyUsage: ['digitalSignature', 'keyEncipherment'],
    },
    key,
  );
  return ParsedCertificate.fromDer(der);
}

/** Our own SCEP client: what tests, the benchmark and admins' smoke tests use. */
export class ScepClient {
  constructor(readonly url: string) {}

  async getCaCaps(): Promise<string[]> {
    const res = await fetch(`${this.url}?operation=GetCACaps`);
    if (!res.ok) throw new Error(`GetCACaps: HTTP ${res.status}`);
    return (await res.text()).split(/\r?\n/).filter(Boolean);
  }

  async getCaCertificates(): Promise<CaCertificates> {
    const res = await fetch(`${this.url}?operation=GetCACert`);
    if (!res.ok) throw new Error(`GetCACert: HTTP ${res.status}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.headers.get('content-type')?.startsWith('application/x-x509-ca-cert')) {
      const ca = ParsedCertificate.fromDer(body);
      return { ca, recipient: ca };
    }
    const certs = parseCertsOnly(body, 'GetCACert').certificates;
    const ca = certs.find((c) => c.isSelfIssued()) ?? certs[certs.length - 1]!;
    // keyEncipherment (bit 2) marks the RA encryption certificate
    const raEncryption = certs.find((c) => c !== ca && c.keyUsage?.has(2));
    const raSigning = certs.find((c) => c !== ca && c !== raEncryption);
    return { ca, raSigning, raEncryption, recipient: raEncryption ?? ca };
  }

  /** Builds a PKCSReq (no network): the expensive, untimed part of a benchmark. */
  async preparePkcsReq(o: {
    cas: CaCertificates;
    subject: NameAttribute[];
    challenge?: string;
    key?: KeyObject;
    cipherOid?: string;
    digest?: HashName;
    transactionId?: string;
    signer?: { certificate: ParsedCertificate; key: KeyObject };
    messageType?: MessageType;
  }): Promise<PreparedRequest> {
    const key = o.key ?? (await newRsaKey());
    const subject = buildName(o.subject);
    const csr = await buildCsr({ subject, key, challengePassword: o.challenge, hash: o.digest ?? 'sha256' });
    const signer = o.signer ?? { certificate: await selfSignedFor(key, subject), key };
    const cipher = contentCipherByOid(o.cipherOid ?? OID.aes256Cbc) as ContentCipher;
    const msg = await buildPkiMessage({
      messageType: o.messageType ?? MessageType.PKCSReq,
      messageData: csr,
      transactionId: o.transactionId,
      recipient: o.cas.recipient,
      cipher,
      digest: o.digest ?? 'sha256',
      signerCert: signer.certificate,
      signerKey: signer.key,
    });
    return { der: msg.der, transactionId: msg.transactionId, senderNonce: msg.senderNonce, requester: signer };
  }

  async send(der: Buffer, method: 'POST' | 'GET' = 'POST'): Promise<Response> {
    return method === 'POST'
      ? fetch(`${this.url}?operation=PKIOperation`, { method: 'POST', body: new Uint8Array(der), headers: { 'Content-Type': 'application/x-pki-message' } })
      : fetch(`${this.url}?operation=PKIOperation&message=${encodeURIComponent(der.toString('base64'))}`);
  }

  /** Sends a prepared request and opens the CertRep. */
  async submit(req: PreparedRequest, method: 'POST' | 'GET' = 'POST'): Promise<Omit<EnrollResult, 'key'>> {
    const res = await this.send(req.der, method);
    if (!res.ok) throw new Error(`PKIOperation: HTTP ${res.status}: ${(await res.text()).trim()}`);
    const rep = await openCertRep(Buffer.from(await res.arrayBuffer()), req.requester);
    const m = rep.message;
    return {
      status: m.pkiStatus ?? PkiStatus.FAILURE,
      certificate: rep.certificates[0],
      failInfo: m.failInfo,
      failText: m.failInfoText,
      transactionId: m.transactionId,
      signatureValid: rep.signatureValid,
      recipientNonceMatches: !!m.recipientNonce?.equals(req.senderNonce),
      cipherOid: rep.cipherOid,
      signerSerial: m.signerCertificate.serialHex,
    };
  }

  async enroll(o: Parameters<ScepClient['preparePkcsReq']>[0] & { method?: 'POST' | 'GET' }): Promise<EnrollResult> {
    const req = await this.preparePkcsReq(o);
    return { ...(await this.submit(req, o.method)), key: req.requester.key };
  }
}
