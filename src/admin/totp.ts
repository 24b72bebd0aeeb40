import { Secret, TOTP } from 'otpauth';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30 s. */
const PERIOD = 30;
const DIGITS = 6;
const ISSUER = 'Scepter';

export interface TotpEnrollment {
  /** base32, typed into an authenticator app by hand */
  secret: string;
  /** otpauth:// URI, for QR codes and apps that take a link */
  uri: string;
}

function totp(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: DIGITS, period: PERIOD, secret: Secret.fromBase32(secretBase32) });
}

/** A new 160-bit TOTP secret for `label` (the person's email). */
export function newTotp(label: string): TotpEnrollment {
  const secret = new Secret({ size: 20 }).base32;
  return { secret, uri: totp(secret, label).toString() };
}

export function isTotpSecret(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Z2-7]{32}$/.test(v);
}

/**
 * The time step `code` belongs to (this step or one either side, for clock drift), or undefined.
 * The caller refuses a step at or before the last one accepted, so each code works once.
 */
export function totpStep(secretBase32: string, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totp(secretBase32, 'x').validate({ token: code, timestamp: now.getTime(), window: 1 });
  return delta === null ? undefined : Math.floor(now.getTime() / 1000 / PERIOD) + delta;
}

/** The current code (CLI tests and the browser test's authenticator). */
export function totpCode(secretBase32: string, now: Date): string {
  return totp(secretBase32, 'x').generate({ timestamp: now.getTime() });
}
