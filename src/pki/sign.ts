import { sign, verify, KeyObject } from 'node:crypto';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/**
 * RSA signature in libuv's thread pool (the callback form of crypto.sign), so that signing spreads
 * over every core instead of blocking the event loop.
 */
export function signAsync(hash: HashName, data: Uint8Array, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(hash, data, key, (err, sig) => (err ? reject(err) : resolve(sig)));
  });
}

export function verifyAsync(hash: HashName, data: Uint8Array, key: KeyObject, signature: Uint8Array): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify(hash, data, key, signature, (err, ok) => (err ? reject(err) : resolve(ok)));
  });
}
