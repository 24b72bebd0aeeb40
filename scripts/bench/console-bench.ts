/**
 * Web console benchmark: every console page's answer time with 1,000,000 certificates (bulk SQL:
 * 8 legacy integrations, about 600,000 devices, 10% revoked) and 100,000 synced WS1 devices (two
 * App Config integrations), 200,000 authentication-log and 100,000 audit-log lines, on SQLite.
 *
 * The real server (buildApp) on a free port, a real owner signed in with a TOTP code; each page is
 * fetched --repeat times over localhost and the median reported (server time plus one localhost
 * round trip). The peer in the same run: GET /healthz, the cheapest answer the server gives. Each
 * page must stay under 300 ms and show at most one page of rows (counted in the HTML). Also: how
 * long the console-stats job's certificate count takes, and how slow a page gets while it runs.
 *
 * Run: npm run bench:console [-- --certs N] [--devices N] [--repeat R]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { totpCode } from '../../src/admin/totp';
import { loadConfig } from '../../src/config/config';
import { dateParam } from '../../src/db/dialect';
import { buildApp } from '../../src/main';
import { ConsoleStatsRepository } from '../../src/db/console-stats.repository';
import { JobLeaseRepository } from '../../src/db/job-lease.repository';
import { ConsoleStatsJob } from '../../src/jobs/console-stats.job';
import { createLogger } from '../../src/shared/logger';
import { freeTcpPort } from '../../test/support/test-server';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CERTS = arg('certs', 1_000_000);
const DEVICES = arg('devices', 100_000);
const REPEAT = arg('repeat', 9);
const GOAL_MS = 300;
/** the console's list page size (lists.page.ts) and log page size (policy-logs.page.ts) */
const MAX_ROWS = 100;
const CLI = { who: 'cli:bench', from: 'cli' };
const log = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-console-bench-'));
  const port = await freeTcpPort();
  const app = await buildApp(
    loadConfig({
      SCEPTER_HOME: dir,
      SCEPTER_HTTP_PORT: String(port),
      SCEPTER_HOST: '127.0.0.1',
      SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
      SCEPTER_DATABASE: path.join(dir, 'scepter.sqlite'),
      SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
      SCEPTER_CA_KEY_BITS: '2048',
      SCEPTER_LOG_LEVEL: 'warn',
      SCEPTER_TLS_PORT: '0',
      SCEPTER_SYNC_SCHEDULE: 'off',
      SCEPTER_CONSOLE_REPORT_DIR: path.join(dir, 'reports'),
      // the server's own console-stats job counts at start (the empty database) and then not again
      // during the run; the bench takes the first real count itself, and a revocation asks for one
      SCEPTER_CONSOLE_STATS_SECONDS: '3600',
    }),
  );
  await app.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    const s = app.services;
    const legacy: string[] = [];
    for (let i = 0; i < 8; i++) legacy.push((await s.integrations.create({ type: 'ios-certs', name: `Legacy ${i}`, allowLegacy: true }, CLI)).id);
    const appConfig: string[] = [];
    for (let i = 0; i < 2; i++) appConfig.push((await s.integrations.create({ type: 'ios', name: `Phones ${i}` }, CLI)).id);
    await fill(app.services.db, legacy, appConfig);
    const owner = await s.adminUsers.create({ name: 'Bench Owner', email: 'owner@example.com', role: 'owner' }, CLI, 'cli');
    const cookie = await signIn(base, owner.password!, owner.totp!.secret);
    const get = async (p: string) => {
      const t0 = process.hrtime.bigint();
      const res = await fetch(base + p, { headers: { cookie }, redirect: 'manual' });
      const text = await res.text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
      return { ms, text };
    };

    // the console-stats job's count, as another instance's job would take it, stored for every page
    let t0 = Date.now();
    const job = new ConsoleStatsJob(new ConsoleStatsRepository(s.db), new JobLeaseRepository(s.db), {
      intervalMs: 3_600_000,
      clock: s.clock,
      logger: createLogger('warn'),
    });
    if (!(await job.runOnce(true))) throw new Error('the console-stats job did not count');
    const counted = (await get('/console')).text.match(/Counted [^;]+; recounted every \d+ s by a background job \(the count took ([0-9.]+) s\)/);
    if (!counted) throw new Error('the dashboard does not show the stored count');
    log(`Background certificate count (console-stats job): ${((Date.now() - t0) / 1000).toFixed(2)} s (the dashboard says ${counted[1]} s)`);

    const next = async (p: string) => /rel="next" href="([^"]+)"/.exec((await get(p)).text)?.[1]?.replace(/&amp;/g, '&');
    const soon = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const udid = (await s.db.manager.query<{ udid: string }[]>('SELECT udid FROM ws1_devices LIMIT 1 OFFSET 777'))[0]!.udid;
    const pages: [string, string][] = [
      ['dashboard', '/console'],
      ['integrations', '/console/integrations'],
      ['integration (legacy)', `/console/integrations/${legacy[0]}`],
      ['integration (App Config)', `/console/integrations/${appConfig[0]}`],
      ['integration: device search', `/console/integrations/${appConfig[0]}?identifier=${udid}`],
      ['create integration', '/console/integrations/new'],
      ['delete preview', `/console/integrations/${legacy[1]}/delete`],
      ['devices', '/console/devices'],
      ['devices, next page', (await next('/console/devices'))!],
      ['devices of an integration', `/console/devices?integration=${legacy[2]}`],
      ['devices: id prefix', '/console/devices?device=dev-0a'],
      ['devices: revoked', '/console/devices?trust=revoked'],
      ['certificates', '/console/certificates'],
      ['certificates, next page', (await next('/console/certificates'))!],
      ['certificates: integration, valid', `/console/certificates?integration=${legacy[3]}&status=valid`],
      ['certificates: revoked', '/console/certificates?status=revoked'],
      ['certificates: expiring in 30 days', `/console/certificates?expiringBefore=${soon}&status=valid`],
      ['certificates by expiry', '/console/certificates?sort=notAfter'],
      ['certificates by device', '/console/certificates?sort=device'],
      ['certificates by expiry, descending', '/console/certificates?sort=notAfter&dir=desc'],
      ['certificates by device, descending', '/console/certificates?sort=device&dir=desc'],
      ['certificates, newest first', '/console/certificates?dir=desc'],
      ['certificates, newest first, next page', (await next('/console/certificates?dir=desc'))!],
      ['devices, descending', '/console/devices?dir=desc'],
      ['devices: revoked, descending', '/console/devices?trust=revoked&dir=desc'],
      ['synced devices (all integrations)', '/console/inventory'],
      ['synced devices, next page', (await next('/console/inventory'))!],
      ['synced devices, descending', '/console/inventory?dir=desc'],
      ['synced devices: UDID prefix', `/console/inventory?device=${encodeURIComponent(udid.slice(0, 6))}`],
      ['synced devices: platform', '/console/inventory?platform=Apple&dir=desc'],
      ['synced devices: unenrolled (5%)', '/console/inventory?enrollmentStatus=Unenrolled'],
      ['synced devices: platform, no match', '/console/inventory?platform=Android'],
      ['migrations', '/console/migrations'],
      ['migration (legacy)', `/console/migrations/${legacy[0]}`],
      ['policy', '/console/policy'],
      ['auth log', '/console/auth-log'],
      ['auth log: user', '/console/auth-log?user=user7'],
      ['audit log', '/console/audit'],
      ['audit log: action', '/console/audit?action=integration.status'],
      ['API keys', '/console/api-keys'],
      ['admin users', '/console/users'],
      ['account', '/console/account'],
    ];
    const healthz: number[] = [];
    const results: { name: string; ms: number; rows: number }[] = [];
    for (const [name, p] of pages) {
      await get(p); // warm
      const samples: number[] = [];
      let rows = 0;
      for (let i = 0; i < REPEAT; i++) {
        const r = await get(p);
        samples.push(r.ms);
        rows = Math.max(...[...r.text.matchAll(/<tbody>([\s\S]*?)<\/tbody>/g)].map((m) => (m[1]!.match(/<tr>/g) ?? []).length), 0);
        const h0 = process.hrtime.bigint();
        await (await fetch(`${base}/healthz`)).text();
        healthz.push(Number(process.hrtime.bigint() - h0) / 1e6);
      }
      results.push({ name, ms: median(samples), rows });
    }
    const peer = median(healthz);
    log(`\n${'page'.padEnd(36)} ${'median ms'.padStart(10)} ${'x /healthz'.padStart(10)} ${'rows'.padStart(6)}`);
    for (const r of results)
      log(
        `${r.name.padEnd(36)} ${r.ms.toFixed(1).padStart(10)} ${(r.ms / peer).toFixed(1).padStart(10)} ${String(r.rows).padStart(6)}${r.ms > GOAL_MS ? '  OVER 300 ms' : ''}${r.rows > MAX_ROWS ? '  MORE THAN ONE PAGE' : ''}`,
      );
    log(`${'peer: GET /healthz'.padEnd(36)} ${peer.toFixed(1).padStart(10)}`);
    const worst = results.reduce((a, b) => (b.ms > a.ms ? b : a));
    log(`\nslowest page: ${worst.name} ${worst.ms.toFixed(1)} ms (goal ${GOAL_MS} ms); pages over the goal: ${results.filter((r) => r.ms > GOAL_MS).length}`);

    // a revocation from the console asks the job for a recount in the background: how slow is a page meanwhile?
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec((await get('/console/account')).text)![1]!;
    const serial = (await s.db.manager.query<{ serial: string }[]>("SELECT serial FROM certificates WHERE status <> 'revoked' LIMIT 1"))[0]!.serial;
    await fetch(`${base}/console/certificates/${serial}/revoke`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, reason: 'superseded' }),
      redirect: 'manual',
    });
    t0 = Date.now();
    const before = (await get('/console')).text.match(/Counted ([^;]+);/)?.[1];
    const during: number[] = [];
    for (;;) {
      const r = await get('/console/devices');
      during.push(r.ms);
      if ((await get('/console')).text.match(/Counted ([^;]+);/)?.[1] !== before) break;
      if (Date.now() - t0 > 120_000) break;
    }
    log(
      `Recount after a revocation: ${((Date.now() - t0) / 1000).toFixed(2)} s; /console/devices meanwhile: median ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms over ${during.length} requests`,
    );
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function signIn(base: string, password: string, secret: string): Promise<string> {
  const form = await fetch(`${base}/console/sign-in`);
  const pre = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${base}/console/sign-in`, {
    method: 'POST',
    headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, email: 'owner@example.com', password, code: totpCode(secret, new Date()) }),
    redirect: 'manual',
  });
  if (res.status !== 302) throw new Error(`sign-in: HTTP ${res.status}`);
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith('scepter-session='))!
    .split(';')[0]!;
}

async function fill(db: import('../../src/db/database').Database, legacy: string[], appConfig: string[]): Promise<void> {
  const t0 = Date.now();
  const now = Date.now();
  const d = (ms: number) => dateParam(db.dialect, new Date(ms));
  const day = 86_400_000;
  // integration ids are ours (letters and digits): safe to write into the statement
  const integrationOf = `CASE n % 8 ${legacy.map((id, i) => `WHEN ${i} THEN '${id}'`).join(' ')} END`;
  await db.transaction(async (m) => {
    await m.query(
      `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
       INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, revoked_at, revocation_reason, last_seen_at, created_at)
       SELECT printf('7F%030X', n), 'CN=dev-' || printf('%06x', n % 600000), printf('%064x', n), printf('%064x', n), ?,
              strftime('%Y-%m-%d %H:%M:%f', ? / 1000.0 + ((n * 7919) % 400 - 30) * 86400, 'unixepoch'),
              x'3000', ${integrationOf}, ${integrationOf}, 'dev-' || printf('%06x', n % 600000),
              CASE WHEN (n / 7) % 10 = 0 THEN 'revoked' WHEN (n / 7) % 50 = 1 THEN 'superseded' ELSE 'valid' END,
              CASE WHEN (n / 7) % 10 = 0 THEN ? ELSE NULL END,
              CASE WHEN (n / 7) % 10 = 0 THEN 1 ELSE NULL END,
              CASE WHEN n % 3 = 0 THEN ? ELSE NULL END, ?
       FROM seq`,
      [CERTS, d(now - 60 * day), now, d(now - day), d(now - 3_600_000), d(now - 60 * day)],
    );
    for (const id of appConfig) {
      await m.query('INSERT INTO ws1_sync_state (integration_id, generation, device_count, last_success_at) VALUES (?, 1, ?, ?)', [id, DEVICES / 2, d(now)]);
      await m.query(
        `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
         INSERT INTO ws1_devices (integration_id, generation, udid_norm, udid, serial_number, serial_norm, platform, enrollment_status, last_seen, user_name, synced_at)
         SELECT ?, 1, printf('%040x', n * 2654435761 % 4294967296), printf('%040X', n * 2654435761 % 4294967296), 'SN' || n, 'sn' || n,
                'Apple', CASE WHEN n % 20 = 0 THEN 'Unenrolled' ELSE 'Enrolled' END, ?, 'user' || (n % 5000), ?
         FROM seq`,
        [DEVICES / 2, id, d(now - day), d(now)],
      );
    }
    await m.query(
      `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 200000)
       INSERT INTO auth_log (at, user_name, application, decision, trusted, reason, policy, method, integration_id, device_id, serial, source_address, note)
       SELECT strftime('%Y-%m-%d %H:%M:%f', ? / 1000.0 - n, 'unixepoch'), 'user' || (n % 5000), 'vpn', CASE WHEN n % 9 = 0 THEN 'deny' ELSE 'allow' END, n % 9 <> 0,
              CASE WHEN n % 9 = 0 THEN 'revoked' ELSE 'trusted' END, 'require-trusted', 'certificate', ${integrationOf}, 'dev-' || printf('%06x', n % 600000), NULL, '10.0.0.1', NULL
       FROM seq`,
      [now],
    );
    await m.query(
      `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
       INSERT INTO audit_log (at, actor, source, action, target, details)
       SELECT strftime('%Y-%m-%d %H:%M:%f', ? / 1000.0 - n, 'unixepoch'), 'cli:bench', 'cli', CASE WHEN n % 5 = 0 THEN 'integration.status' ELSE 'certificate.revoke' END, 'x' || n, NULL
       FROM seq`,
      [now],
    );
  });
  log(`Filled ${CERTS} certificates, ${DEVICES} synced WS1 devices, 200000 auth-log and 100000 audit-log lines in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
