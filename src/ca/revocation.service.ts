/** Revocation: one certificate, one device, one integration (lists are in src/lists/). */
import type { Actor } from '../admin/audit.types';
import { normalizeSerialHex } from '../shared/bytes';
import { Clock } from '../shared/clock';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { parseRevocationReason, type RevocationReason } from '../pki/revocation-reason';
import { PkiInputError } from '../pki/pki.errors';
import type { Transaction } from '../db/transaction';
import type { RevocationRepository } from '../db/revocation.repository';

export interface RevokeResult {
  serial: string;
  /** false: it was already revoked, and keeps its first time and reason */
  revoked: boolean;
  revokedAt: Date;
  reason: RevocationReason;
}

/** Serial as `openssl x509 -serial` prints it; colons, spaces and either case accepted. */
export function parseSerial(input: string): string {
  let serial: string;
  try {
    serial = normalizeSerialHex(String(input));
  } catch {
    throw new BadRequestError(`"${String(input).slice(0, 80)}" is not a hexadecimal serial number`);
  }
  // RFC 5280 4.1.2.2: at most 20 octets
  if (serial.length > 40) throw new BadRequestError('serial number longer than 20 octets');
  return serial;
}

export function parseReason(input: string | undefined, fallback: RevocationReason): RevocationReason {
  if (input === undefined || input === '') return fallback;
  let reason: RevocationReason;
  try {
    reason = parseRevocationReason(input);
  } catch (err) {
    if (err instanceof PkiInputError) throw new BadRequestError(err.message);
    throw err;
  }
  // removeFromCRL only means something in a delta CRL, which we do not publish
  if (reason === 'removeFromCRL') throw new BadRequestError('removeFromCRL cannot be used to revoke');
  return reason;
}

function checkId(what: string, value: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new BadRequestError(`${what} must be 1 to ${max} characters`);
  return value;
}

export class RevocationService {
  /** `changed` runs after each committed revocation: republish the CRL and refresh OCSP now. */
  constructor(
    private readonly store: RevocationRepository,
    private readonly clock: Clock,
    private readonly changed: () => Promise<void> = async () => undefined,
  ) {}

  async revoke(serialInput: string, o: { reason?: string; actor: Actor }): Promise<RevokeResult> {
    const serial = parseSerial(serialInput);
    const reason = parseReason(o.reason, 'unspecified');
    const now = this.clock.now();
    const r = await this.store.revokeSerial(serial, reason, now, () => ({
      actor: o.actor,
      action: 'certificate.revoke',
      target: serial,
      details: { reason },
      at: now,
    }));
    if (r.outcome === 'not-found') throw new NotFoundError(`no certificate with serial ${serial} was issued by this CA`);
    if (r.outcome === 'revoked') await this.changed();
    return { serial, revoked: r.outcome === 'revoked', revokedAt: r.revokedAt, reason: r.reason };
  }

  /** Every unexpired certificate of one device (integration id + UDID). */
  async revokeDevice(
    integrationId: string,
    deviceId: string,
    o: { reason?: string; actor: Actor },
  ): Promise<{ revoked: number; certificates: number; reason: RevocationReason }> {
    const reason = parseReason(o.reason, 'unspecified');
    const now = this.clock.now();
    const audit = (revoked: number) => ({
      actor: o.actor,
      action: 'device.revoke',
      target: `${integrationId}:${deviceId}`,
      details: { reason, revoked },
      at: now,
    });
    const r = await this.store.revokeDevice(checkId('integration id', integrationId, 64), checkId('device id', deviceId, 256), reason, now, audit);
    if (!r.matched) throw new NotFoundError(`no certificates for device ${deviceId.slice(0, 80)} in integration ${integrationId.slice(0, 64)}`);
    if (r.revoked) await this.changed();
    return { revoked: r.revoked, certificates: r.matched, reason };
  }

  /** Its own transaction; inside someone else's, use revokeAllForIntegration(). */
  async revokeIntegration(integrationId: string, o: { reason?: string; actor: Actor }): Promise<number> {
    const reason = parseReason(o.reason, 'cessationOfOperation');
    const now = this.clock.now();
    const audit = (revoked: number) => ({
      actor: o.actor,
      action: 'integration.revoke-certificates',
      target: integrationId,
      details: { reason, revoked },
      at: now,
    });
    const n = await this.store.revokeIntegration(checkId('integration id', integrationId, 64), reason, now, audit);
    if (n) await this.changed();
    return n;
  }

  /**
   * For code that deletes an integration inside its own database transaction `tx`: revokes, in that
   * transaction, every unexpired certificate of the integration that is not revoked yet (superseded
   * ones included) with one set-based UPDATE, and returns how many it revoked. Running servers
   * republish the CRL and refresh OCSP within a second of the commit (they poll the revision this
   * bumps); nothing else to call.
   */
  revokeAllForIntegration(tx: Transaction, integrationId: string, reason: RevocationReason, now: Date): Promise<number> {
    return this.store.revokeIntegrationIn(tx, integrationId, reason, now);
  }

  countRevocable(integrationId: string): Promise<{ certificates: number; devices: number }> {
    return this.store.countRevocable(checkId('integration id', integrationId, 64), this.clock.now());
  }
}
