import { PkiInputError } from './pki.errors';

/** CRLReason (RFC 5280 section 5.3.1), by the RFC's names. Code 7 is not assigned. */
export const REVOCATION_REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASON_CODES;

export const REVOCATION_REASONS = Object.keys(REVOCATION_REASON_CODES) as RevocationReason[];

/** Code -> name, the reverse of REVOCATION_REASON_CODES. */
export const REVOCATION_REASON_NAMES: ReadonlyMap<number, RevocationReason> = new Map(REVOCATION_REASONS.map((name) => [REVOCATION_REASON_CODES[name], name]));

export function revocationReasonCode(reason: RevocationReason): number {
  // hasOwn: a name like "toString" must not reach Object.prototype.
  if (!Object.hasOwn(REVOCATION_REASON_CODES, reason)) throw new RangeError(`unknown revocation reason ${String(reason)}`);
  return REVOCATION_REASON_CODES[reason];
}

export function revocationReasonFromCode(code: number): RevocationReason | undefined {
  return REVOCATION_REASON_NAMES.get(code);
}

// Lower-cased names without separators, so "keycompromise", "Key-Compromise" and "key_compromise" all match.
const BY_FOLDED_NAME = new Map(REVOCATION_REASONS.map((name) => [name.toLowerCase(), name]));

/**
 * Parses user input (CLI flag, admin API field): an RFC 5280 name in any case, with optional '-', '_'
 * or spaces between words, or its decimal code. Unknown values are a PkiInputError listing the names.
 */
export function parseRevocationReason(input: string): RevocationReason {
  const trimmed = input.trim();
  const byCode = /^\d{1,2}$/.test(trimmed) ? revocationReasonFromCode(Number(trimmed)) : undefined;
  const found = byCode ?? BY_FOLDED_NAME.get(trimmed.replace(/[-_\s]/g, '').toLowerCase());
  if (!found) {
    throw new PkiInputError(`unknown revocation reason "${trimmed.slice(0, 40)}"; expected one of ${REVOCATION_REASONS.join(', ')}`);
  }
  return found;
}
