import { createPublicKey, KeyObject } from 'node:crypto';
import { childrenOf, decodeOid, primitiveOf, readSingle } from './der-reader';
import { Asn1DecodeError } from './pki.errors';
import { bitStringBytes } from './der-values';
import { OID } from './oids';

/**
 * A KeyObject from a DER SubjectPublicKeyInfo. OpenSSL 3's DER decoder takes ~130 µs per RSA key
 * here (every enrollment imports the device's key); the same key given as a JWK (n, e) takes ~7 µs.
 * Anything but a plainly encoded RSA key goes through the DER decoder.
 */
export function publicKeyFromSpki(spkiDer: Buffer): KeyObject {
  const jwk = rsaJwk(spkiDer);
  return jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
}

function rsaJwk(spkiDer: Buffer): { kty: 'RSA'; n: string; e: string } | undefined {
  try {
    const [alg, key, extra] = childrenOf(readSingle(spkiDer), 0x30, 'SubjectPublicKeyInfo');
    const [oid, params, more] = childrenOf(alg, 0x30, 'algorithm');
    if (extra || more || decodeOid(primitiveOf(oid, 0x06, 'algorithm')) !== OID.rsaEncryption) return undefined;
    if (params && (params.tag !== 0x05 || params.value.length !== 0)) return undefined;
    const [n, e, rest] = childrenOf(readSingle(bitStringBytes(key, 'subjectPublicKey')), 0x30, 'RSAPublicKey');
    const nb = positive(primitiveOf(n, 0x02, 'modulus'));
    const eb = positive(primitiveOf(e, 0x02, 'publicExponent'));
    if (rest || !nb || !eb) return undefined;
    return { kty: 'RSA', n: nb.toString('base64url'), e: eb.toString('base64url') };
  } catch (err) {
    if (err instanceof Asn1DecodeError) return undefined;
    throw err;
  }
}

/** Magnitude of a minimally encoded positive INTEGER; undefined for anything else. */
function positive(v: Buffer): Buffer | undefined {
  if (v.length === 0 || v[0]! & 0x80) return undefined;
  if (v[0] === 0) return v.length > 1 && v[1]! & 0x80 ? v.subarray(1) : undefined;
  return v;
}
