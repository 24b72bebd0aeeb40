import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { decodeAs, integerHex, parseAsn1 } from './der';
import { formatName } from './names';
import { toArrayBuffer, toBuffer } from '../shared/bytes';

/** A parsed X.509 certificate with typed getters over its original DER. */
export class ParsedCertificate {
  readonly serialHex: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Buffer;
  private key?: KeyObject;

  constructor(readonly der: Buffer, readonly cert: pkijs.Certificate) {
    this.serialHex = integerHex(cert.serialNumber);
    this.subject = formatName(cert.subject);
    this.issuer = formatName(cert.issuer);
    this.notBefore = cert.notBefore.value;
    this.notAfter = cert.notAfter.value;
    this.spkiDer = toBuffer(cert.subjectPublicKeyInfo.toSchema().toBER(false));
  }

  static fromDer(der: Uint8Array): ParsedCertificate {
    const asn1 = parseAsn1(der, 'certificate');
    return new ParsedCertificate(Buffer.from(der), decodeAs('certificate', () => new pkijs.Certificate({ schema: asn1 })));
  }

  static fromPkijs(cert: pkijs.Certificate): ParsedCertificate {
    return new ParsedCertificate(toBuffer(cert.toSchema(false).toBER(false)), cert);
  }

  get publicKey(): KeyObject {
    this.key ??= createPublicKey({ key: this.spkiDer, format: 'der', type: 'spki' });
    return this.key;
  }

  get fingerprintSha256(): string {
    return createHash('sha256').update(this.der).digest('hex');
  }

  get fingerprintSha1(): Buffer {
    return createHash('sha1').update(this.der).digest();
  }

  /** Issuer DN DER (for IssuerAndSerialNumber matching). */
  get issuerDer(): Buffer {
    return toBuffer(this.cert.issuer.toSchema().toBER(false));
  }

  get subjectDer(): Buffer {
    return toBuffer(this.cert.subject.toSchema().toBER(false));
  }

  /** SHA-256 of the SubjectPublicKeyInfo: identifies the key, e.g. for transaction binding. */
  get publicKeyHash(): string {
    return createHash('sha256').update(this.spkiDer).digest('hex');
  }

  isSelfIssued(): boolean {
    return this.issuerDer.equals(this.subjectDer);
  }
}

export function pkijsCertificate(der: Uint8Array): pkijs.Certificate {
  return pkijs.Certificate.fromBER(toArrayBuffer(der));
}
