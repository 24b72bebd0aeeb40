import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Console passwords: scrypt, a memory-hard function built into Node (no native add-on to build),
 * with N=2^16, r=8, p=2: 64 MiB and roughly 0.1-0.3 s per hash here, one of OWASP's recommended
 * scrypt settings. Stored as `scrypt$N$r$p$<salt>$<hash>` (base64url) so the parameters can be
 * raised later while old hashes still verify.
 */
const N = 2 ** 16;
const R = 8;
const P = 2;
const KEY_LENGTH = 32;
const MAX_MEMORY = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N: n, r, p, maxmem: MAX_MEMORY }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

// a hash of nothing anyone knows: checked when there is no user, so timing does not tell
let dummy: Promise<string> | undefined;

/** Constant time in the password; `stored` undefined (no such user) costs the same and answers false. */
export async function passwordMatches(password: string, stored: string | undefined): Promise<boolean> {
  const s = stored ?? (await (dummy ??= hashPassword(randomBytes(16).toString('hex'))));
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(s);
  if (!m) return false;
  const [n, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (n > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const key = await derive(password, Buffer.from(m[4]!, 'base64url'), n, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected) && stored !== undefined;
}
