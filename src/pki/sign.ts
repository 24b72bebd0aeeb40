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

/**
 * Signature check, inline. An RSA public-key operation (e = 65537) costs ~40 µs here; the thread-pool
 * form spent about as much on the event loop just to queue the job, plus the same again on a pool
 * thread, so verifying in place is cheaper in total and no slower for the event loop.
 */
export function verifyInline(hash: HashName, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  return verify(hash, data, key, signature);
}

export function verifyAsync(hash: HashName, data: Uint8Array, key: KeyObject, signature: Uint8Array): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify(hash, data, key, signature, (err, ok) => (err ? reject(err) : resolve(ok)));
  });
}
