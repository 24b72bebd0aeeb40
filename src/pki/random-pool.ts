import { randomBytes, randomFillSync } from 'node:crypto';

const BLOCK = 4096;
let block = Buffer.alloc(0);
let offset = 0;

/**
 * `n` bytes from the CSPRNG, for the small random values every enrollment takes (serial number,
 * content-encryption key and IV, sender nonce). Each crypto.randomBytes call costs ~7 µs of OpenSSL
 * overhead whatever its size, so the bytes are drawn 4 KiB at a time and handed out front to back:
 * no byte is handed out twice, and a block is never refilled (a new one replaces it), so a value
 * handed out keeps its bytes. Values of more than 1 KiB come straight from crypto.randomBytes.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (n > BLOCK / 4) return randomBytes(n);
  if (offset + n > block.length) {
    block = randomFillSync(Buffer.allocUnsafeSlow(BLOCK));
    offset = 0;
  }
  const out = block.subarray(offset, offset + n);
  offset += n;
  return out;
}
