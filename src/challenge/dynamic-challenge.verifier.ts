import { ChallengeVerifier } from '../scep/scep.ports';
import { Clock } from '../shared/clock';
import type { ChallengeRepository } from '../db/challenge.repository';
import { challengeHash } from './challenge.service';

/**
 * One integration's dynamic challenges. The check here only reads; the challenge is consumed by
 * the issuing transaction (`challengeId`), so two concurrent requests with one challenge cannot
 * both get a certificate. The lookup is by hash: timing reveals nothing about the challenge.
 */
export class DynamicChallengeVerifier implements ChallengeVerifier {
  constructor(
    private readonly integrationId: string,
    private readonly store: ChallengeRepository,
    private readonly clock: Clock,
  ) {}

  async precheck(password: string | undefined) {
    if (password === undefined || password === '') return { ok: false as const, reason: 'challengePassword missing' };
    const found = await this.store.findByHash(this.integrationId, challengeHash(this.integrationId, password));
    // unknown, or minted for another integration: the hash differs
    if (!found) return { ok: false as const, reason: 'challengePassword not accepted', guess: true };
    if (found.usedAt) return { ok: false as const, reason: 'challengePassword already used' };
    if (found.expiresAt <= this.clock.now()) return { ok: false as const, reason: 'challengePassword expired' };
    return { ok: true as const, challengeId: found.id, ...(found.deviceId ? { deviceId: found.deviceId } : {}) };
  }
}
