import { ConfigError } from '../shared/errors';
import { Clock } from '../shared/clock';
import type { CaMaterial } from './ca-material';
import {
  CaGeneration,
  createNextGeneration,
  firstGeneration,
  generationCommonName,
  generationPrefix,
  GenerationOptions,
  loadGeneration,
} from './ca-generation';
import { loadPreviousRa, renewRaIfDue } from './ra-renewal';

/** A recorded generation, as the database holds it (implemented by db/ca-generation.repository). */
export interface CaGenerationRecord {
  generation: number;
  /** hex SHA-1 key identifier of the CA key (RFC 5280 4.2.1.2 method 1) */
  keyId: string;
  subject: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  activateAt: Date;
  certificate: Buffer;
  /** this CA's key certified by the previous CA ("NewWithOld"); null for the first CA */
  newWithOld: Buffer | null;
  /** the previous CA's key certified by this CA ("OldWithNew"); null for the first CA */
  oldWithNew: Buffer | null;
  /** the pkcs11: URI of the CA key when it is in a token; null for a key file */
  keyUri: string | null;
}

export interface CaGenerationStore {
  list(): Promise<CaGenerationRecord[]>;
  latest(): Promise<number>;
  register(r: CaGenerationRecord, now: Date): Promise<boolean>;
  reschedule(generation: number, activateAt: Date): Promise<void>;
}

export interface RolloverOptions extends Omit<GenerationOptions, 'commonName'> {
  /** the first CA's common name; later generations default to it plus " G<n>" */
  commonName: string;
  raRenewBeforeDays: number;
}

/**
 * CA generations: loads every generation the database records (checking each against its files),
 * creates the next one (`scepter ca rollover`), and keeps RA pairs renewed.
 */
export class CaRolloverService {
  constructor(
    private readonly store: CaGenerationStore,
    private readonly clock: Clock,
    private readonly o: RolloverOptions,
  ) {}

  /** Every generation, the first one recorded on first use; RA pairs renewed when due. */
  async load(first: CaMaterial): Promise<CaGeneration[]> {
    const now = this.clock.now();
    let rows = await this.store.list();
    const firstRow = rows.find((r) => r.generation === 1);
    const cert = first.ca.certificate;
    if (!firstRow) {
      await this.store.register(recordOf(firstGeneration(first)), now);
      rows = await this.store.list();
    } else if (firstRow.fingerprintSha256 !== cert.fingerprintSha256 && rows.length > 1) {
      throw new ConfigError('SCEPTER_CERTS_DIR', `ca.cert.pem is not the first CA the database records (SHA-256 ${firstRow.fingerprintSha256.toUpperCase()})`);
    }
    const generations: CaGeneration[] = [firstGeneration(first)];
    for (const row of rows.filter((r) => r.generation > 1)) generations.push(await loadGeneration(this.generationOptions(row.generation), row));
    for (const g of generations) await this.refreshRa(g, now);
    return generations;
  }

  /** Generations recorded after `known` (another process rolled over), loaded from their files. */
  async loadNewer(known: number): Promise<CaGeneration[]> {
    if ((await this.store.latest()) <= known) return [];
    const out: CaGeneration[] = [];
    for (const row of (await this.store.list()).filter((r) => r.generation > known)) {
      const g = await loadGeneration(this.generationOptions(row.generation), row);
      await this.refreshRa(g, this.clock.now());
      out.push(g);
    }
    return out;
  }

  /** Current activation times (a rescheduled rollover). */
  async activationTimes(): Promise<Map<number, Date>> {
    return new Map((await this.store.list()).map((r) => [r.generation, r.activateAt]));
  }

  /**
   * Renews the RA pair of `g` when due (or adopts another instance's renewal) and loads the previous
   * encryption pair; true when the material changed.
   */
  async refreshRa(g: CaGeneration, now: Date): Promise<boolean> {
    const opts = { ...this.generationOptions(g.generation), commonName: commonNameOf(g), renewBeforeDays: this.o.raRenewBeforeDays };
    const renewed = await renewRaIfDue(opts, g.material, now);
    if (renewed) {
      g.material = renewed;
      return true;
    }
    const previous = g.material.previousRaEncryption;
    if (previous === undefined) {
      g.material = { ...g.material, previousRaEncryption: loadPreviousRa(opts, now) };
      return g.material.previousRaEncryption!.length > 0;
    }
    // a previous encryption pair is dropped once its certificate has expired
    const kept = previous.filter((p) => p.certificate.notAfter.getTime() > now.getTime());
    if (kept.length === previous.length) return false;
    g.material = { ...g.material, previousRaEncryption: kept };
    return true;
  }

  /**
   * Creates the next CA generation: key, certificate, RA pair (RA mode), link certificates, then
   * records it. With a generation already scheduled and not yet active, only moves its activation.
   */
  async rollover(generations: CaGeneration[], opts: { activateAt?: Date; commonName?: string }): Promise<{ generation: CaGeneration; created: boolean }> {
    const now = this.clock.now();
    const latest = generations[generations.length - 1]!;
    const activateAt = opts.activateAt ?? now;
    if (latest.activateAt.getTime() > now.getTime() && latest.generation > 1) {
      if (!opts.activateAt)
        throw new ConfigError(
          'SCEPTER_CERTS_DIR',
          `CA generation ${latest.generation} is already scheduled for ${latest.activateAt.toISOString()}: pass --activate-at to move it`,
        );
      await this.store.reschedule(latest.generation, activateAt);
      latest.activateAt = activateAt;
      return { generation: latest, created: false };
    }
    const n = latest.generation + 1;
    const commonName = opts.commonName ?? generationCommonName(this.o.commonName, n);
    const g = await createNextGeneration({ ...this.generationOptions(n), commonName }, latest, activateAt, now);
    if (!(await this.store.register(recordOf(g), now)))
      throw new ConfigError('SCEPTER_CERTS_DIR', `CA generation ${n} was recorded by another process meanwhile`);
    return { generation: g, created: true };
  }

  generationOptions(generation: number): GenerationOptions & { prefix: string } {
    const { raRenewBeforeDays: _unused, ...rest } = this.o;
    return { ...rest, prefix: generationPrefix(generation) };
  }
}

function commonNameOf(g: CaGeneration): string {
  const s = g.material.ca.certificate.subject;
  return /CN=([^,]+)/.exec(s)?.[1] ?? s;
}

export function recordOf(g: CaGeneration): CaGenerationRecord {
  const c = g.material.ca.certificate;
  return {
    generation: g.generation,
    keyId: g.keyId.toString('hex'),
    subject: c.subject.slice(0, 1024),
    fingerprintSha256: c.fingerprintSha256,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    activateAt: g.activateAt,
    certificate: c.der,
    newWithOld: g.newWithOld?.der ?? null,
    oldWithNew: g.oldWithNew?.der ?? null,
    keyUri: g.keyUri ?? null,
  };
}
