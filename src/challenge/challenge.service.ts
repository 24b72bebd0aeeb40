import { randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../shared/clock';
import { ServiceUnavailableError } from '../shared/errors';
import { sha256Hex } from '../shared/bytes';
import type { ChallengeRepository } from '../db/challenge.repository';

export interface ChallengeSettings {
  ttlMinutes: number;
  /** characters of uppercase hex (NDES: 16) */
  length: number;
  /** outstanding challenges per integration */
  cacheLimit: number;
}

export interface MintedChallenge {
  challenge: string;
  expiresAt: Date;
  /** the device it issues for, when bound to one */
  deviceId?: string;
}

/** NDES's answer when its password cache is full; the challenge router renders it as NDES does. */
export class ChallengeCacheFullError extends ServiceUnavailableError {
  constructor() {
    super('The password cache is full.');
  }
}

/**
 * Stored form of a challenge: SHA-256 over the integration id and the challenge, so a challenge
 * is only found through its own integration and the table holds no usable secret.
 */
export function challengeHash(integrationId: string, challenge: string): string {
  return sha256Hex(`${integrationId}\n${challenge}`);
}

/** Mints NDES-style one-time challenges (uppercase hex, valid `ttlMinutes`, capped per integration). */
export class ChallengeService {
  constructor(
    private readonly store: ChallengeRepository,
    private readonly settings: ChallengeSettings,
    private readonly clock: Clock,
  ) {}

  get ttlMinutes(): number {
    return this.settings.ttlMinutes;
  }

  /** `deviceId` (already validated, see DeviceIdRule): the challenge issues only for that device. */
  async mint(integrationId: string, deviceId?: string): Promise<MintedChallenge> {
    const challenge = randomBytes(Math.ceil(this.settings.length / 2))
      .toString('hex')
      .toUpperCase()
      .slice(0, this.settings.length);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.settings.ttlMinutes * 60_000);
    const row = {
      id: randomUUID(),
      integrationId,
      challengeHash: challengeHash(integrationId, challenge),
      createdAt: now,
      expiresAt,
      usedAt: null,
      deviceId: deviceId ?? null,
    };
    if (!(await this.store.insertWithinLimit(row, this.settings.cacheLimit, now))) throw new ChallengeCacheFullError();
    return deviceId === undefined ? { challenge, expiresAt } : { challenge, expiresAt, deviceId };
  }

  outstanding(integrationId: string): Promise<number> {
    return this.store.countOutstanding(integrationId, this.clock.now());
  }
}
