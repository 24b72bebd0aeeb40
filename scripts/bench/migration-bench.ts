/**
 * Migration at scale: a legacy integration with N devices (certificate rows inserted
 * directly), a WS1 simulator (child process) knowing most of them, then the real CLI for `migrate
 * plan` and `migrate finalize` on a real SQLite file (or PostgreSQL with --database URL).
 *
 *   npx tsc -p . && node dist/scripts/bench/migration-bench.js [--devices 50000] [--database URL] [--json]
 *
 * Goals: plan <= 30 s, finalize (revoking N certificates) <= 10 s. Peers measured in the same run
 * (shared, noisy machines): the bare WS1 device walk with the WS1 client (plan's floor), and a bare
 * set-based UPDATE revoking N rows of another integration in one transaction (finalize's floor).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { dateParam } from '../../src/db/dialect';
import { placeholders } from '../../src/db/inventory.repository';
import { buildServices, Services } from '../../src/main';
import { Ws1Client } from '../../src/mdm/workspace-one/ws1-client';
import { SIM_DEFAULTS } from '../ws1-sim/ws1-simulator';

const ACTOR = { who: 'bench', from: 'bench' };
const ROOT = path.resolve(__dirname, '../../..');

function parse(argv: string[]): { devices: number; database?: string; json: boolean } {
  const o = { devices: 50_000, database: undefined as string | undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--devices') o.devices = Number(argv[++i]);
    else if (argv[i] === '--database') o.database = argv[++i];
    else if (argv[i] === '--json') o.json = true;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

const udidOf = (prefix: string, i: number) => `${prefix}${i.toString(16).padStart(8, '0')}`.padEnd(40, '0');

/** N valid certificate rows of one integration, in multi-row INSERTs (the SCEP path is not under test). */
async function insertCertificates(s: Services, integrationId: string, prefix: string, n: number): Promise<void> {
  const now = new Date();
  const d = (x: Date) => dateParam(s.db.dialect, x);
  const [notBefore, notAfter] = [d(new Date(now.getTime() - 86_400_000)), d(new Date(now.getTime() + 300 * 86_400_000))];
  const cols = 'serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, created_at';
  for (let i = 0; i < n; i += 5000) {
    await s.db.transaction(async (m) => {
      for (let j = i; j < Math.min(n, i + 5000); j += 500) {
        const rows: unknown[] = [];
        const count = Math.min(n, j + 500) - j;
        for (let k = j; k < j + count; k++) {
          const u = udidOf(prefix, k);
          rows.push(
            `${prefix.toUpperCase()}${k.toString(16).padStart(12, '0')}`,
            `CN=${u},OU=${integrationId}`,
            u.padEnd(64, '0'),
            u.padEnd(64, '1'),
            notBefore,
            notAfter,
            Buffer.from([0x30, 0]),
            integrationId,
            integrationId,
            u,
            'valid',
            d(now),
          );
        }
        const tuple = `(${cols
          .split(',')
          .map(() => '?')
          .join(', ')})`;
        await m.query(placeholders(s.db.dialect, `INSERT INTO certificates (${cols}) VALUES ${Array(count).fill(tuple).join(', ')}`), rows);
      }
    });
  }
}

async function startSim(file: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/scripts/ws1-sim/main.js'), '--port', '0', '--inventory', file, '--quota', '1000000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /on (http\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

/** `node bin/scepter ...` as an admin runs it; wall time in ms. */
function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ ms: number; code: number | null; out: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/scepter'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, out }));
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-migration-bench-'));
  const env = {
    ...process.env,
    SCEPTER_DATABASE: o.database ?? path.join(dir, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_LOG_LEVEL: 'warn',
    SCEPTER_SYNC_SCHEDULE: 'off',
    SCEPTER_WS1_ALLOW_HTTP: 'on', // the simulator speaks http
  };
  const s = await buildServices(loadConfig(env));
  const stops: (() => void)[] = [];
  try {
    const legacy = (await s.integrations.create({ type: 'ios-certs', name: 'bench legacy', allowLegacy: true }, ACTOR)).id;
    const peer = (await s.integrations.create({ type: 'ios-certs', name: 'bench peer', allowLegacy: true }, ACTOR)).id;
    await s.integrations.setStatus(legacy, 'all', undefined, ACTOR);
    const inserted = await timed(async () => {
      await insertCertificates(s, legacy, 'a', o.devices);
      await insertCertificates(s, peer, 'b', o.devices);
    });
    // WS1: 98% of the devices enrolled, 1% unenrolled, 1% unknown
    const inventory = [];
    for (let i = 0; i < o.devices; i++) {
      if (i % 100 === 99) continue;
      inventory.push({
        Udid: udidOf('a', i).toUpperCase(),
        Platform: 'Apple',
        EnrollmentStatus: i % 100 === 98 ? 'Unenrolled' : 'Enrolled',
        SerialNumber: `S${i}`,
        UserName: `user${i}`,
      });
    }
    const invFile = path.join(dir, 'inventory.json');
    fs.writeFileSync(invFile, JSON.stringify({ Devices: inventory }));
    const sim = await startSim(invFile);
    stops.push(sim.stop);
    const settings = { baseUrl: sim.url, username: SIM_DEFAULTS.username, password: SIM_DEFAULTS.password, apiKey: SIM_DEFAULTS.tenantCode };
    const ws1 = (await s.integrations.create({ type: 'windows', name: 'bench ws1', allowLegacy: false }, ACTOR)).id;
    await s.ws1Settings.configure(ws1, settings, ACTOR);

    // peer of plan: the bare device walk
    const walk = await timed(async () => {
      const client = new Ws1Client(settings);
      let n = 0;
      for await (const p of client.searchDevices('Apple')) n += p.devices.length;
      client.close();
      return n;
    });
    const reports = path.join(dir, 'reports');
    const plan = await cli(env, ['migrate', 'plan', legacy, '--ws1-from', ws1, '--report-dir', reports]);
    if (plan.code !== 0) throw new Error(`plan failed: ${plan.out}`);
    const svc = s.migration();
    await (await svc.apply(legacy, { actor: ACTOR })).execute();
    const verify = await timed(async () => (await svc.verify(legacy, { actor: ACTOR })).execute());
    await (await svc.cutover(legacy, { actor: ACTOR, minReady: 95 })).execute();

    // peer of finalize: one UPDATE revoking the other integration's N rows
    const update = await timed(() =>
      s.db.transaction((m) =>
        m.query(
          placeholders(
            s.db.dialect,
            "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = 5 WHERE integration_id = ? AND status <> 'revoked'",
          ),
          [dateParam(s.db.dialect, new Date()), peer],
        ),
      ),
    );
    const finalize = await cli(env, ['migrate', 'finalize', legacy, '--grace', '0', '--yes', '--report-dir', reports, '--json']);
    if (finalize.code !== 0) throw new Error(`finalize failed: ${finalize.out}`);
    const revoked = JSON.parse(finalize.out).revoked as number;
    // the CLI's own start-up (build the services, open the database), for reading the figures
    const startup = await cli(env, ['migrate', 'status', '--json']);
    const figures = {
      devices: o.devices,
      database: o.database ? 'postgres' : 'sqlite',
      insertMs: Math.round(inserted.ms),
      planMs: Math.round(plan.ms),
      planReady: /(\d+) of (\d+) devices ready/.exec(plan.out)?.[0],
      ws1WalkMs: Math.round(walk.ms),
      ws1Devices: walk.value,
      planVsWalk: +(plan.ms / walk.ms).toFixed(2),
      verifyMs: Math.round(verify.ms),
      finalizeMs: Math.round(finalize.ms),
      revoked,
      bareUpdateMs: Math.round(update.ms),
      finalizeVsUpdate: +(finalize.ms / update.ms).toFixed(2),
      cliStartupMs: Math.round(startup.ms),
      goals: { planMs: 30_000, finalizeMs: 10_000 },
    };
    if (o.json) process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
    else {
      process.stdout.write(
        [
          `migration bench, ${o.devices} devices (${figures.database}); ${figures.insertMs} ms to insert 2 x ${o.devices} certificate rows`,
          `plan (CLI, wall):      ${figures.planMs} ms  (goal <= 30000)  ${figures.planReady}`,
          `  peer, bare WS1 walk: ${figures.ws1WalkMs} ms for ${walk.value} devices; plan/walk = ${figures.planVsWalk}`,
          `verify (in process):   ${figures.verifyMs} ms (Test Configuration, sync, readiness, live search of the at-risk ones)`,
          `finalize (CLI, wall):  ${figures.finalizeMs} ms  (goal <= 10000), ${revoked} certificates revoked, CRL republished`,
          `  peer, bare UPDATE:   ${figures.bareUpdateMs} ms for ${o.devices} rows; finalize/update = ${figures.finalizeVsUpdate}`,
          `CLI start-up alone (migrate status): ${figures.cliStartupMs} ms`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    stops.forEach((f) => f());
    await s.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`migration-bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
