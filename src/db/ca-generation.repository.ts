import { Database } from './database';
import { dbDate } from './dialect';
import type { CaGenerationRecord } from '../ca/ca-rollover.service';
import { CaGenerationRow } from './entities/ca-generation.entity';

/** The CA generations table, and the crl_state row each generation publishes its CRL through. */
export class CaGenerationRepository {
  constructor(private readonly db: Database) {}

  list(): Promise<CaGenerationRow[]> {
    return this.db.betweenTransactions((m) => m.getRepository<CaGenerationRow>('CaGeneration').find({ order: { generation: 'ASC' } }));
  }

  /** The highest generation recorded (0: none), a cheap poll for a rollover made elsewhere. */
  async latest(): Promise<number> {
    const [row] = await this.db.betweenTransactions((m) =>
      m.createQueryBuilder().select('MAX(g.generation)', 'n').from('ca_generations', 'g').getRawMany<{ n: number | string | null }>(),
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Records a generation with its crl_state row in one transaction. False when that generation (or
   * that key) is already recorded: two instances registering the first CA at once, or a rollover
   * racing another one.
   */
  register(r: CaGenerationRecord, now: Date): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const repo = m.getRepository<CaGenerationRow>('CaGeneration');
      if (await repo.findOne({ where: [{ generation: r.generation }, { keyId: r.keyId }], select: { generation: true } })) return false;
      await repo.insert({ ...r, createdAt: now });
      if (r.generation > 1) {
        await m
          .createQueryBuilder()
          .insert()
          .into('CrlState')
          .values({ id: r.generation, revision: 0, crlNumber: 0, crlRevision: 0, updatedAt: now })
          .orIgnore()
          .execute();
      }
      return true;
    });
  }

  /** Moves the activation time of a generation that has not started issuing yet. */
  async reschedule(generation: number, activateAt: Date): Promise<void> {
    await this.db.transaction((m) => m.getRepository<CaGenerationRow>('CaGeneration').update({ generation }, { activateAt }));
  }

  /** The latest not_after of the certificates each generation issued (absent: none issued). */
  lastExpiry(): Promise<Map<number, Date>> {
    return this.db.betweenTransactions(async (m) => {
      const rows = await m
        .createQueryBuilder()
        .select('c.ca_generation', 'generation')
        .addSelect('MAX(c.not_after)', 'last')
        .from('certificates', 'c')
        .groupBy('c.ca_generation')
        .getRawMany<{ generation: number | string; last: unknown }>();
      return new Map(rows.map((r) => [Number(r.generation), dbDate(r.last)]));
    });
  }
}
