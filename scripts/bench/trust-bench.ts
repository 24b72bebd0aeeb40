/**
 * Device-trust benchmark. Two measurements against the real server in its own process,
 * with 1,000,000 certificates and 100,000 revocations in its database (inserted in bulk):
 *
 * 1. Full mTLS handshakes plus the trust decision, a new connection every time (`openssl s_time
 *    -new -www`, K clients in parallel), against nginx as the peer in the same run: `ssl_verify_client
 *    on` with our CA and a CRL of 10,000 serials, answering a fixed body. Same ECDSA P-256 server key
 *    and certificate for both, as many nginx workers as Scepter processes (--workers, default 1).
 *    After a warm-up, rounds alternate; the medians are compared (target: Scepter >= 80% of nginx).
 * 2. Keep-alive: C connections, each sending check after check (target: >= 5,000 checks/s, p99 < 10 ms).
 *
 * The machine is shared: the figures move with its load. The CPU the server spends per handshake or
 * per check (from /proc) moves much less than the rates and is printed beside them.
 * Env: TRUST_BENCH_NODE_ARGS (e.g. --cpu-prof) for the server process; TRUST_BENCH_KEEP=1 keeps the
 * temporary directory (database, CA, device certificates) for further experiments.
 *
 * Run: npm run build && node dist/scripts/bench/trust-bench.js [--certs N] [--revoked N] [--seconds S]
 *      [--clients K] [--connections C] [--rounds R] [--workers W]
 *      [--keepalive-seconds S (0: skip)]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createPrivateKey } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { buildApp } from '../../src/main';
import { Database } from '../../src/db/database';
import { dateParam } from '../../src/db/dialect';
import { TLS_FILES } from '../../src/http/tls-server';
import { buildCrl } from '../../src/pki/crl.builder';
import { pemDecode, pemEncode } from '../../src/pki/der';
import { ScepClient, newRsaKey } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { freePort } from '../../test/support/ports';
import { run, spawnDaemon, waitFor, type Daemon } from '../../test/support/proc';
import { startNginx, type Nginx } from '../../test/support/nginx';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CERTS = arg('certs', 1_000_000);
const REVOKED = arg('revoked', 100_000);
const SECONDS = arg('seconds', 6);
const CLIENTS = arg('clients', 2);
const CONNECTIONS = arg('connections', 8);
const ROUNDS = arg('rounds', 5);
const WORKERS = arg('workers', 1);
const KEEPALIVE_SECONDS = arg('keepalive-seconds', SECONDS);
const DEVICES = 8;
const ACTOR = { who: 'bench', from: 'bench' };
const CHECK_PATH = '/v1/device-trust?user=bench&application=bench';

const log = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-trust-bench-'));
  const [httpPort, tlsPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    SCEPTER_HTTP_PORT: String(httpPort),
    SCEPTER_TLS_PORT: String(tlsPort),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
    SCEPTER_DATABASE: path.join(dir, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_LOG_LEVEL: 'warn',
  };
  const serverEnv = { ...env, SCEPTER_WORKERS: String(WORKERS) };
  let server: Daemon | undefined;
  let nginx: Nginx | undefined;
  try {
    const { integrationId, files } = await seed(env, dir);
    await bulkInsert(env.SCEPTER_DATABASE!, integrationId);
    server = await startServer(serverEnv);
    nginx = await startPeer(env);
    await sanity(tlsPort, nginx.port, files);
    log(`\nFull mTLS handshake + decision, new connection each time: ${CLIENTS} x openssl s_time -new, ${SECONDS} s, ${ROUNDS} rounds each, alternating`);
    // warm-up, not counted: JIT, TLS and allocator caches of both peers
    await handshakes(tlsPort, files, SECONDS);
    await handshakes(nginx.port, files, 3);
    const ours: number[] = [];
    const peer: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const c0 = treeCpu(server.pid);
      const a = await handshakes(tlsPort, files);
      const oursCpu = treeCpu(server.pid) - c0;
      const n0 = treeCpu(nginx.daemon.pid);
      const b = await handshakes(nginx.port, files);
      const peerCpu = treeCpu(nginx.daemon.pid) - n0;
      ours.push(a.rate);
      peer.push(b.rate);
      const per = (cpu: number, total: number) => ((cpu * 1000) / total).toFixed(2);
      log(
        `  round ${r + 1}: Scepter ${a.rate.toFixed(0)}/s (${per(oursCpu, a.total)} ms CPU each), nginx ${b.rate.toFixed(0)}/s (${per(peerCpu, b.total)} ms CPU each)`,
      );
    }
    const ratio = ROUNDS ? median(ours) / median(peer) : NaN;
    if (ROUNDS)
      log(
        `  median: Scepter ${median(ours).toFixed(0)} handshakes/s, nginx ${median(peer).toFixed(0)}/s, ratio ${(ratio * 100).toFixed(0)}% (target >= 80%) ${ratio >= 0.8 ? 'PASS' : 'FAIL'}`,
      );

    if (!KEEPALIVE_SECONDS) return;
    log(`\nKeep-alive: ${CONNECTIONS} connections, check after check on each, ${KEEPALIVE_SECONDS} s, ${Math.max(1, ROUNDS)} rounds`);
    const runs: KeepAliveResult[] = [];
    for (let r = 0; r < Math.max(1, ROUNDS); r++) {
      const cpu0 = treeCpu(server.pid);
      const own0 = process.cpuUsage();
      const k = await keepAlive(tlsPort, files);
      const serverCpu = treeCpu(server.pid) - cpu0;
      const own = process.cpuUsage(own0);
      runs.push(k);
      log(
        `  round ${r + 1}: ${k.rate.toFixed(0)} checks/s, p50 ${k.p50.toFixed(2)} ms, p99 ${k.p99.toFixed(2)} ms, max ${k.max.toFixed(2)} ms, ${k.errors} errors; server CPU ${((serverCpu / KEEPALIVE_SECONDS) * 100).toFixed(0)}% of a core (${((serverCpu * 1e6) / k.count).toFixed(0)} µs per check), load generator ${((own.user + own.system) / 1e4 / KEEPALIVE_SECONDS).toFixed(0)}%`,
      );
    }
    const mid = [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)]!;
    const ok = mid.rate >= 5000 && mid.p99 < 10 && !runs.some((k) => k.errors);
    log(`  median round: ${mid.rate.toFixed(0)} checks/s, p99 ${mid.p99.toFixed(2)} ms (target >= 5000/s, p99 < 10 ms) ${ok ? 'PASS' : 'FAIL'}`);
    const flushed = await authLogRows(env.SCEPTER_DATABASE!);
    log(`  authentication log rows written: ${flushed}`);
  } finally {
    await nginx?.stop();
    await server?.stop();
    if (process.env.TRUST_BENCH_KEEP) log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Files {
  ca: string;
  cert: string;
  key: string;
  certs: string[];
  keys: string[];
}

/** CA, an active ios-certs integration, require-trusted, and devices enrolled through SCEP. */
async function seed(env: Record<string, string>, dir: string): Promise<{ integrationId: string; files: Files }> {
  const t0 = Date.now();
  const app = await buildApp(loadConfig(env));
  await app.listen();
  const s = app.services;
  try {
    const integ = await s.integrations.create({ type: 'ios-certs', name: 'bench', allowLegacy: true }, ACTOR);
    await s.integrations.setStatus(integ.id, 'all', undefined, ACTOR);
    await s.trustPolicy.set('require-trusted', undefined, ACTOR);
    const client = new ScepClient(`http://127.0.0.1:${env.SCEPTER_HTTP_PORT}/scep/${integ.id}`);
    const cas = await client.getCaCertificates();
    const files: Files = { ca: path.join(dir, 'ca.pem'), cert: '', key: '', certs: [], keys: [] };
    fs.writeFileSync(files.ca, pemEncode('CERTIFICATE', s.authority.caCertificate.der));
    for (let i = 0; i < DEVICES; i++) {
      const key = await newRsaKey();
      const { challenge } = await s.challenges.mint(integ.id);
      const r = await client.enroll({
        cas,
        subject: [
          { type: 'OU', value: integ.id },
          { type: 'CN', value: `BENCH-UDID-${i}` },
        ],
        challenge,
        key,
      });
      if (r.status !== PkiStatus.SUCCESS) throw new Error(`enrollment failed: ${r.failText}`);
      const cert = path.join(dir, `device-${i}.pem`);
      const keyFile = path.join(dir, `device-${i}.key`);
      fs.writeFileSync(cert, pemEncode('CERTIFICATE', r.certificate!.der));
      fs.writeFileSync(keyFile, key.export({ type: 'pkcs8', format: 'pem' }));
      files.certs.push(cert);
      files.keys.push(keyFile);
    }
    files.cert = files.certs[0]!;
    files.key = files.keys[0]!;
    log(`Seeded CA, integration ${integ.id} (status all), policy require-trusted, ${DEVICES} devices enrolled through SCEP (${Date.now() - t0} ms)`);
    return { integrationId: integ.id, files };
  } finally {
    await app.close();
  }
}

/** N certificate rows and every 10th (up to REVOKED) revoked, in one statement each (SQLite). */
async function bulkInsert(dbFile: string, integrationId: string): Promise<void> {
  const t0 = Date.now();
  const db = await Database.open(dbFile);
  try {
    const now = new Date();
    const d = (x: Date) => dateParam(db.dialect, x);
    const every = Math.max(1, Math.floor(CERTS / Math.max(1, REVOKED)));
    await db.transaction(async (m) => {
      await m.query(
        `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
         INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, revoked_at, revocation_reason, created_at)
         SELECT printf('7F%030X', n), 'CN=BULK-' || n, printf('%064x', n), printf('%064x', n), ?, ?, x'3000', ?, ?, 'BULK-' || n,
                CASE WHEN n % ? = 0 AND n / ? <= ? THEN 'revoked' ELSE 'valid' END,
                CASE WHEN n % ? = 0 AND n / ? <= ? THEN ? ELSE NULL END,
                CASE WHEN n % ? = 0 AND n / ? <= ? THEN 1 ELSE NULL END, ?
         FROM seq`,
        [
          CERTS,
          d(new Date(now.getTime() - 86_400_000)),
          d(new Date(now.getTime() + 365 * 86_400_000)),
          integrationId,
          integrationId,
          every,
          every,
          REVOKED,
          every,
          every,
          REVOKED,
          d(now),
          every,
          every,
          REVOKED,
          d(now),
        ],
      );
      await m.query('UPDATE crl_state SET revision = revision + 1');
    });
    const [{ total }] = await db.manager.query('SELECT COUNT(*) AS total FROM certificates');
    const [{ revoked }] = await db.manager.query("SELECT COUNT(*) AS revoked FROM certificates WHERE status = 'revoked'");
    log(`Inserted in bulk: ${total} certificates in the database, ${revoked} revoked (${Date.now() - t0} ms)`);
  } finally {
    await db.close();
  }
}

async function startServer(env: Record<string, string>): Promise<Daemon> {
  const t0 = Date.now();
  // TRUST_BENCH_NODE_ARGS, e.g. --cpu-prof: profile the server
  const nodeArgs = (process.env.TRUST_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const daemon = spawnDaemon(process.execPath, [...nodeArgs, path.resolve(__dirname, '../../src/server.js')], { env: { ...process.env, ...env } });
  await waitFor(
    () => {
      if (!daemon.isRunning()) throw new Error(`server exited: ${daemon.output()}`);
      return daemon.output().includes('Device trust');
    },
    120_000,
    'the server',
  );
  log(`Server started in ${Date.now() - t0} ms (loads the revoked set, publishes the CRL)`);
  return daemon;
}

/** nginx with the same server certificate, verifying clients against our CA and a 10,000-serial CRL. */
async function startPeer(env: Record<string, string>): Promise<Nginx> {
  const certsDir = env.SCEPTER_CERTS_DIR!;
  const caDer = pemDecode(fs.readFileSync(path.join(certsDir, 'ca.cert.pem'), 'utf8'), 'CERTIFICATE');
  const caKey = createPrivateKey(fs.readFileSync(path.join(certsDir, 'ca.key.pem')));
  const now = new Date();
  const entries = Array.from({ length: 10_000 }, (_, i) => ({
    serialHex: `6E${(i + 1).toString(16).toUpperCase().padStart(30, '0')}`,
    revokedAt: now,
    reason: 'keyCompromise' as const,
  }));
  const crl = await buildCrl({
    issuerCertDer: caDer,
    issuerKey: caKey,
    crlNumber: 1n,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + 86_400_000),
    entries,
  });
  return startNginx({
    workers: WORKERS,
    files: {
      'tls.crt': fs.readFileSync(path.join(certsDir, TLS_FILES.cert)),
      'tls.key': fs.readFileSync(path.join(certsDir, TLS_FILES.key)),
      'ca.pem': fs.readFileSync(path.join(certsDir, 'ca.cert.pem')),
      'crl.pem': pemEncode('X509 CRL', crl),
    },
    servers: `
      server {
        listen 127.0.0.1:{{PORT}} ssl;
        ssl_certificate tls.crt;
        ssl_certificate_key tls.key;
        ssl_client_certificate ca.pem;
        ssl_crl crl.pem;
        ssl_verify_client on;
        location / {
          default_type application/json;
          return 200 '{"decision":"allow","trusted":true,"verify":"$ssl_client_verify","serial":"$ssl_client_serial"}';
        }
      }`,
  });
}

/** CPU seconds of a process and its children (nginx's workers, SCEPTER_WORKERS' workers). */
function treeCpu(pid: number): number {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.reduce((sum, child) => sum + cpuSeconds(Number(child)), cpuSeconds(pid));
}

/** Both peers answer the device as trusted before anything is timed. */
async function sanity(ours: number, peer: number, f: Files): Promise<void> {
  for (const port of [ours, peer]) {
    const r = await run('curl', ['-sS', '--cacert', f.ca, '--cert', f.cert, '--key', f.key, `https://127.0.0.1:${port}${CHECK_PATH}`], { timeoutMs: 20_000 });
    if (!r.stdout.includes('"trusted":true')) throw new Error(`port ${port} did not answer trusted: ${r.stdout}${r.stderr}`);
  }
  const bulkRevoked = await run('curl', ['-sS', '--cacert', f.ca, `https://127.0.0.1:${ours}${CHECK_PATH}`], { timeoutMs: 20_000 });
  if (!bulkRevoked.stdout.includes('"decision":"deny"')) throw new Error(`expected a deny without a certificate: ${bulkRevoked.stdout}`);
  log('Sanity: both answer the enrolled device as trusted; no certificate is denied');
}

/** Connections per second of CLIENTS parallel `openssl s_time -new` (full handshakes, one GET each). */
async function handshakes(port: number, f: Files, seconds = SECONDS): Promise<{ rate: number; total: number }> {
  const t0 = Date.now();
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) =>
      run(
        'openssl',
        [
          's_time',
          '-connect',
          `127.0.0.1:${port}`,
          '-new',
          '-cert',
          f.certs[i % DEVICES]!,
          '-key',
          f.keys[i % DEVICES]!,
          '-www',
          CHECK_PATH,
          '-time',
          String(seconds),
        ],
        { timeoutMs: (seconds + 30) * 1000 },
      ),
    ),
  );
  const elapsed = (Date.now() - t0) / 1000;
  let total = 0;
  for (const r of results) {
    const m = /(\d+) connections in [\d.]+s/.exec(r.stdout);
    if (!m) throw new Error(`s_time: ${r.stdout}${r.stderr}`);
    total += Number(m[1]);
  }
  return { rate: total / elapsed, total };
}

interface KeepAliveResult {
  rate: number;
  count: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** CONNECTIONS raw TLS connections, each sending the next check as soon as the previous answer is in. */
async function keepAlive(port: number, f: Files): Promise<KeepAliveResult> {
  const ca = fs.readFileSync(f.ca);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + KEEPALIVE_SECONDS * 1000;
  const request = Buffer.from(`GET ${CHECK_PATH} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ca,
        cert: fs.readFileSync(f.certs[i % DEVICES]!),
        key: fs.readFileSync(f.keys[i % DEVICES]!),
        servername: 'localhost',
      });
      let buf: Buffer = Buffer.alloc(0);
      let sent = 0n;
      const send = () => {
        if (Date.now() >= deadline) return socket.end(resolve);
        sent = process.hrtime.bigint();
        socket.write(request);
      };
      socket.once('secureConnect', send);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        if (!head.startsWith('HTTP/1.1 200') || !buf.subarray(end + 4, end + 4 + length).includes('"trusted":true')) errors++;
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        buf = buf.subarray(end + 4 + length);
        send();
      });
    });
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => one(i)));
  const seconds = (Date.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
  return { rate: latencies.length / seconds, count: latencies.length, p50: pct(0.5), p99: pct(0.99), max: latencies[latencies.length - 1]!, errors };
}

/** user + system CPU seconds of a process so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function authLogRows(dbFile: string): Promise<number> {
  await new Promise((r) => setTimeout(r, 500));
  const db = await Database.open(dbFile, { migrate: false });
  try {
    const [{ n }] = await db.manager.query('SELECT COUNT(*) AS n FROM auth_log');
    return Number(n);
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(`trust-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
