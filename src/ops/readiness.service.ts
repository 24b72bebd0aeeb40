import { randomBytes, verify, KeyObject, X509Certificate } from 'node:crypto';
import type { Clock } from '../shared/clock';
import type { PrivateKey } from '../pki/private-key';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  /** why it failed, or what was found */
  detail?: string;
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: ReadinessCheck[];
  failed: string[];
}

export interface ReadinessDeps {
  /** writes something the database must accept (e.g. a row inserted and rolled back) */
  probeDatabaseWrite(): Promise<void>;
  /** the CA's private key and certificate */
  caKey?: PrivateKey;
  caCertificateDer?: Buffer;
  /** instead of caKey and caCertificateDer: the CA issuing now (it changes at a rollover's activation) */
  currentCa?: () => { key: PrivateKey; certificate: { der: Buffer } };
  /** the CRL this instance serves, if any */
  currentCrl(): { thisUpdate: Date; nextUpdate: Date } | undefined;
  /** true while SCEPTER_PUBLIC_URL is still the localhost default written into every certificate */
  publicUrlIsDefault: boolean;
  publicUrl: string;
  clock: Clock;
  /** per check (default 3 s): a hung database is a failure, not a hung probe */
  timeoutMs?: number;
  /** gets the full error of a failed database probe (the unauthenticated answer carries only its code) */
  onDatabaseError?: (err: unknown) => void;
}

/**
 * Whether this instance should take traffic: the database takes writes, the CA key signs, the CRL
 * it serves is fresh (republished at half-life, so past three quarters of its validity something
 * is stuck), and the public URL written into certificates is a real one.
 */
export class ReadinessService {
  constructor(private readonly d: ReadinessDeps) {}

  private ca(): { key: PrivateKey; publicKey: KeyObject } {
    const current = this.d.currentCa?.();
    const der = current?.certificate.der ?? this.d.caCertificateDer!;
    return { key: current?.key ?? this.d.caKey!, publicKey: new X509Certificate(der).publicKey };
  }

  async check(): Promise<ReadinessReport> {
    const checks = await Promise.all([
      this.run('database', async () => {
        try {
          await this.d.probeDatabaseWrite();
        } catch (err) {
          // /readyz is public: a driver message can name hosts, users or tables, so only its code goes out
          this.d.onDatabaseError?.(err);
          throw new Error(`the test write failed (${errorCode(err)})`);
        }
        return 'reachable and writable';
      }),
      this.run('ca_key', () => this.caKeySigns()),
      this.run('crl', async () => this.crlFresh()),
      this.run('public_url', async () => {
        if (this.d.publicUrlIsDefault) throw new Error(`SCEPTER_PUBLIC_URL is not set: certificates would carry ${this.d.publicUrl}`);
        return this.d.publicUrl;
      }),
    ]);
    const failed = checks.filter((c) => !c.ok).map((c) => c.name);
    return { ready: failed.length === 0, checks, failed };
  }

  private async caKeySigns(): Promise<string> {
    const data = randomBytes(32);
    const ca = this.ca();
    const signature = await ca.key.sign('sha256', data);
    if (!verify('sha256', data, ca.publicKey, signature)) throw new Error('the CA key does not match the CA certificate');
    return 'test signature verified';
  }

  private crlFresh(): string {
    const crl = this.d.currentCrl();
    if (!crl) throw new Error('no CRL published yet');
    const now = this.d.clock.now().getTime();
    const from = crl.thisUpdate.getTime();
    const until = crl.nextUpdate.getTime();
    if (now >= until) throw new Error(`the CRL expired at ${crl.nextUpdate.toISOString()}`);
    if (now > from + (until - from) * 0.75) throw new Error(`the CRL was not republished at half-life (thisUpdate ${crl.thisUpdate.toISOString()})`);
    return `nextUpdate ${crl.nextUpdate.toISOString()}`;
  }

  private async run(name: string, fn: () => Promise<string>): Promise<ReadinessCheck> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const limit = this.d.timeoutMs ?? 3000;
    try {
      const detail = await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${limit} ms`)), limit);
        }),
      ]);
      return { name, ok: true, detail, ms: Date.now() - started };
    } catch (err) {
      return { name, ok: false, detail: describe(err), ms: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The driver's or system's error code (SQLITE_READONLY, ECONNREFUSED, 28P01), or 'error'. */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : 'error';
}

/** A short reason without stack or SQL: the first line of the message, bounded. */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; driverError?: { code?: string } };
  const code = e.driverError?.code ?? e.code;
  const msg = (e.message ?? String(err)).split('\n')[0]!.slice(0, 200);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
