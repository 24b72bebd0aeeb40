import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeAs, parseAsn1 } from './der';
import { OID, hashFromOid } from './oids';
import { verifyAsync } from './sign';
import { formatName } from './names';
import { toBuffer } from '../shared/bytes';
import { BadRequestError } from '../shared/errors';

/** A parsed PKCS#10 certification request. */
export class ParsedCsr {
  readonly spkiDer: Buffer;
  readonly publicKey: KeyObject;
  readonly subject: string;

  private constructor(readonly der: Buffer, readonly csr: pkijs.CertificationRequest) {
    this.spkiDer = toBuffer(csr.subjectPublicKeyInfo.toSchema().toBER(false));
    try {
      this.publicKey = createPublicKey({ key: this.spkiDer, format: 'der', type: 'spki' });
    } catch (err) {
      throw new BadRequestError('unsupported public key in CSR', err);
    }
    this.subject = formatName(csr.subject);
  }

  static fromDer(der: Uint8Array): ParsedCsr {
    const asn1 = parseAsn1(der, 'CSR');
    return new ParsedCsr(Buffer.from(der), decodeAs('CSR', () => new pkijs.CertificationRequest({ schema: asn1 })));
  }

  get keyType(): string {
    return this.publicKey.asymmetricKeyType ?? 'unknown';
  }

  get keyBits(): number {
    return this.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  }

  get publicKeyHash(): string {
    return createHash('sha256').update(this.spkiDer).digest('hex');
  }

  get subjectName(): pkijs.RelativeDistinguishedNames {
    return this.csr.subject;
  }

  /** challengePassword (PKCS#9) as a string, whatever DirectoryString type the client used. */
  get challengePassword(): string | undefined {
    const attr = this.csr.attributes?.find((a) => a.type === OID.challengePassword);
    const value = attr?.values[0] as asn1js.AsnType | undefined;
    if (!value) return undefined;
    const block = (value as asn1js.BaseStringBlock).valueBlock as { value?: unknown };
    return typeof block.value === 'string' ? block.value : undefined;
  }

  /** Checks the self-signature (proof of possession of the private key). */
  async verifySignature(): Promise<boolean> {
    const hash = hashFromOid(this.csr.signatureAlgorithm.algorithmId);
    if (!hash) return false;
    const tbs = this.csr.tbsView;
    try {
      return await verifyAsync(hash, tbs, this.publicKey, this.csr.signatureValue.valueBlock.valueHexView);
    } catch {
      return false;
    }
  }
}
