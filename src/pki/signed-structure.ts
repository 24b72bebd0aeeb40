import { KeyObject } from 'node:crypto';
import { DER_NULL, derBitString, derOid, derSequence } from './der-writer';
import { OID } from './oids';
import { asPrivateKey, type SigningKey } from './private-key';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/**
 * AlgorithmIdentifier for a SHA-256 signature by `key`: sha256WithRSAEncryption (with the NULL
 * parameter RFC 4055 requires) for RSA keys, ecdsa-with-SHA256 (no parameters) for EC keys.
 */
export function sha256SignatureAlgorithm(key: SigningKey): Buffer {
  const type = key instanceof KeyObject ? key.asymmetricKeyType : key.type;
  switch (type) {
    case 'rsa':
      return derSequence(derOid(OID.sha256WithRSAEncryption), DER_NULL);
    case 'ec':
      return derSequence(derOid(ECDSA_WITH_SHA256));
    default:
      throw new RangeError(`unsupported signing key type ${String(type)}`);
  }
}

/**
 * SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING, ...trailing }: the shape shared by
 * CertificateList (RFC 5280) and BasicOCSPResponse (RFC 6960, whose trailing part is `certs`).
 * `tbs` must already carry the same AlgorithmIdentifier where the structure repeats it (CRLs do).
 */
export async function signStructure(tbs: Buffer, key: SigningKey, trailing: Uint8Array[] = []): Promise<Buffer> {
  const algorithm = sha256SignatureAlgorithm(key);
  // Node's ECDSA output is already the DER Ecdsa-Sig-Value X.509 wants; RSA uses PKCS#1 v1.5 by default.
  const signature = await asPrivateKey(key).sign('sha256', tbs);
  return derSequence(tbs, algorithm, derBitString(signature), ...trailing);
}
