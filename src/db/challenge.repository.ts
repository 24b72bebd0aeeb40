import { StoredChallenge } from '../challenge/challenge.types';
import { Database } from './database';
import { dateParam } from './dialect';
import { ChallengeRow } from './entities/challenge.entity';

/** Rows of challenges that expired this long ago are pruned when new ones are minted. */
const KEEP_EXPIRED_MS = 24 * 3600_000;

class CacheFull extends Error {}

/**
 * Dynamic challenges. Redemption is not here: the SCEP store's issuing transaction does it with a
 * conditional UPDATE (used_at IS NULL AND expires_at > now), so a challenge is single-use even
 * across processes sharing the database.
 */
export class ChallengeRepository {
  constructor(private readonly db: Database) {}

  /**
   * Insert first, then count, in one transaction: on SQLite the INSERT takes the write lock at
   * once, so concurrent minting (also from other processes) is serialised and the cap is exact;
   * on PostgreSQL concurrent transactions may overshoot it by the number in flight.
   */
  async insertWithinLimit(row: StoredChallenge, limit: number, now: Date): Promise<boolean> {
    const d = this.db.dialect;
    try {
      await this.db.transaction(async (m) => {
        await m.getRepository<ChallengeRow>('Challenge').insert({ ...row });
        const [{ n }] = await m
          .createQueryBuilder()
          .select('COUNT(*)', 'n')
          .from('challenges', 'c')
          .where('c.integration_id = :id AND c.used_at IS NULL AND c.expires_at > :now', { id: row.integrationId, now: dateParam(d, now) })
          .getRawMany();
        if (Number(n) > limit) throw new CacheFull();
        await m
          .createQueryBuilder()
          .delete()
          .from('Challenge')
          .where('integration_id = :id AND expires_at < :cutoff', { id: row.integrationId, cutoff: dateParam(d, new Date(now.getTime() - KEEP_EXPIRED_MS)) })
          .execute();
      });
      return true;
    } catch (err) {
      if (err instanceof CacheFull) return false;
      throw err;
    }
  }

  async findByHash(integrationId: string, challengeHash: string): Promise<StoredChallenge | undefined> {
    const row = await this.db.manager.getRepository<ChallengeRow>('Challenge').findOne({ where: { integrationId, challengeHash } });
    return row ?? undefined;
  }

  /** unused, unexpired challenges of the integration */
  async countOutstanding(integrationId: string, now: Date): Promise<number> {
    const [{ n }] = await this.db.manager
      .createQueryBuilder()
      .select('COUNT(*)', 'n')
      .from('challenges', 'c')
      .where('c.integration_id = :id AND c.used_at IS NULL AND c.expires_at > :now', { id: integrationId, now: dateParam(this.db.dialect, now) })
      .getRawMany();
    return Number(n);
  }
}
