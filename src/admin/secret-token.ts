import { randomBytes, randomInt } from 'node:crypto';
import { secretsEqual, sha256Hex } from '../shared/bytes';

// no 0/O, 1/I: ids are read aloud and typed into WS1 forms
const ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A random identifier such as `DI` + 18 characters (about 90 bits). */
export function randomId(prefix: string, length = 18): string {
  let s = prefix;
  for (let i = 0; i < length; i++) s += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return s;
}

/** A high-entropy secret (256 bits), URL- and header-safe. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Secrets at rest: SHA-256 is enough for random 128+ bit secrets (no dictionary to attack);
 * the scope keeps equal secrets of different owners apart.
 */
export function hashSecret(scope: string, secret: string): string {
  return sha256Hex(`${scope}\n${secret}`);
}

/** Constant-time check of a presented secret against a stored hash; `stored` may be absent. */
export function secretMatches(scope: string, presented: string, stored: string | null | undefined): boolean {
  // compare against a dummy when there is nothing stored, so timing does not tell the difference
  const ok = secretsEqual(hashSecret(scope, presented), stored ?? '0'.repeat(64));
  return ok && Boolean(stored);
}
