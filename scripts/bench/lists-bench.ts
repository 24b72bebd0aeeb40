/**
 * List and export benchmark: 1,000,000 certificates (inserted in bulk SQL, 10 integrations, about
 * 600,000 devices, 10% revoked, 2% superseded, some expired) and a 100,000-device WS1 inventory in
 * a SQLite database, then:
 *
 * - every list page through ListService (the code behind `scepter ... list` and the admin API):
 *   the first page, a deep page (a cursor near the end), each filter, median of --repeat runs;
 * - the peer in the same run: a bare `SELECT` of a 100-row page by primary key, through the same
 *   driver and connection (what no list can beat), and the same deep page by OFFSET, the slow way
 *   keyset paging avoids;
 * - the full CSV export of every certificate through the real CLI (`scepter cert list --csv`),
 *   against a bare keyset read of the same rows through the same driver, and against the `sqlite3`
 *   command-line shell writing the same columns as CSV (C, no driver: the floor).
 *
 * Run: npm run bench:lists [-- --certs N] [--repeat R] [--inventory N] [--export 0] [--pg]
 * LISTS_BENCH_KEEP=1 keeps the database (its path is printed) for EXPLAIN QUERY PLAN and the like.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Database } from '../../src/db/database';
import { dateParam } from '../../src/db/dialect';
import { ListRepository } from '../../src/db/list.repository';
import { encodeCursor } from '../../src/lists/list-cursor';
import { ListService, RawListParams } from '../../src/lists/list.service';
import { systemClock } from '../../src/shared/clock';
import { createTestDatabase } from '../../test/support/postgres';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CERTS = arg('certs', 1_000_000);
const REPEAT = arg('repeat', 15);
const INVENTORY = arg('inventory', 100_000);
const EXPORT = arg('export', 1); // 0: skip the full exports
/** --pg: the same on a fresh PostgreSQL database (SCEPTER_TEST_PG_URL or the local server), psql as the export peer */
const PG = process.argv.includes('--pg');
const log = (s: string) => process.stdout.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  await fn(); // warm
  for (let i = 0; i < REPEAT; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(samples);
}

async function fill(db: Database): Promise<void> {
  if (db.dialect === 'postgres') return fillPostgres(db);
  const t0 = Date.now();
  const now = Date.now();
  const d = (ms: number) => dateParam(db.dialect, new Date(ms));
  const day = 86_400_000;
  await db.transaction(async (m) => {
    // not_after: now - 30 days .. now + 370 days, spread by a multiplicative hash of n
    await m.query(
      `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
       INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, revoked_at, revocation_reason, last_seen_at, created_at)
       SELECT printf('7F%030X', n), 'CN=dev-' || printf('%06x', n % 600000), printf('%064x', n), printf('%064x', n), ?,
              strftime('%Y-%m-%d %H:%M:%f', ? / 1000.0 + ((n * 7919) % 400 - 30) * 86400, 'unixepoch'),
              x'3000', 'bench', 'DI-BENCH-' || (n % 10), 'dev-' || printf('%06x', n % 600000),
              CASE WHEN (n / 7) % 10 = 0 THEN 'revoked' WHEN (n / 7) % 50 = 1 THEN 'superseded' ELSE 'valid' END,
              CASE WHEN (n / 7) % 10 = 0 THEN ? ELSE NULL END,
              CASE WHEN (n / 7) % 10 = 0 THEN 1 ELSE NULL END,
              CASE WHEN n % 3 = 0 THEN ? ELSE NULL END, ?
       FROM seq`,
      [CERTS, d(now - 60 * day), now, d(now - day), d(now - 3_600_000), d(now - 60 * day)],
    );
    for (const id of ['DI-BENCH-0', 'DI-BENCH-1']) {
      await m.query('INSERT INTO ws1_sync_state (integration_id, generation, device_count, last_success_at) VALUES (?, 1, ?, ?)', [id, INVENTORY / 2, d(now)]);
      await m.query(
        `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
         INSERT INTO ws1_devices (integration_id, generation, udid_norm, udid, serial_number, serial_norm, platform, enrollment_status, last_seen, user_name, synced_at)
         SELECT ?, 1, printf('%040x', n * 2654435761 % 4294967296), printf('%040X', n * 2654435761 % 4294967296), 'SN' || n, 'sn' || n,
                CASE WHEN n % 4 = 0 THEN 'Android' ELSE 'Apple' END, CASE WHEN n % 20 = 0 THEN 'Unenrolled' ELSE 'Enrolled' END, ?, 'user' || (n % 5000), ?
         FROM seq`,
        [INVENTORY / 2, id, d(now - day), d(now)],
      );
    }
  });
  const [{ total }] = await db.manager.query('SELECT COUNT(*) AS total FROM certificates');
  log(`Filled ${total} certificates and ${INVENTORY} inventory devices in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** The same rows with generate_series, then ANALYZE (what autovacuum does some time after a bulk load). */
async function fillPostgres(db: Database): Promise<void> {
  const t0 = Date.now();
  const now = new Date();
  const day = 86_400_000;
  const hex = (expr: string, width: number) => `lpad(to_hex(${expr}), ${width}, '0')`;
  await db.transaction(async (m) => {
    await m.query(
      `INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, revoked_at, revocation_reason, last_seen_at, created_at)
       SELECT '7F' || upper(${hex('n', 30)}), 'CN=dev-' || ${hex('n % 600000', 6)}, ${hex('n', 64)}, ${hex('n', 64)}, $2,
              $3::timestamptz + (((n * 7919) % 400 - 30) * interval '1 day'),
              '\\x3000'::bytea, 'bench', 'DI-BENCH-' || (n % 10), 'dev-' || ${hex('n % 600000', 6)},
              CASE WHEN (n / 7) % 10 = 0 THEN 'revoked' WHEN (n / 7) % 50 = 1 THEN 'superseded' ELSE 'valid' END,
              CASE WHEN (n / 7) % 10 = 0 THEN $4::timestamptz ELSE NULL END,
              CASE WHEN (n / 7) % 10 = 0 THEN 1 ELSE NULL END,
              CASE WHEN n % 3 = 0 THEN $5::timestamptz ELSE NULL END, $2
       FROM generate_series(1::bigint, $1::bigint) AS n`,
      [CERTS, new Date(now.getTime() - 60 * day), now, new Date(now.getTime() - day), new Date(now.getTime() - 3_600_000)],
    );
    for (const id of ['DI-BENCH-0', 'DI-BENCH-1']) {
      await m.query('INSERT INTO ws1_sync_state (integration_id, generation, device_count, last_success_at) VALUES ($1, 1, $2, $3)', [id, INVENTORY / 2, now]);
      await m.query(
        `INSERT INTO ws1_devices (integration_id, generation, udid_norm, udid, serial_number, serial_norm, platform, enrollment_status, last_seen, user_name, synced_at)
         SELECT $2, 1, ${hex('n * 2654435761 % 4294967296', 40)}, upper(${hex('n * 2654435761 % 4294967296', 40)}), 'SN' || n, 'sn' || n,
                CASE WHEN n % 4 = 0 THEN 'Android' ELSE 'Apple' END, CASE WHEN n % 20 = 0 THEN 'Unenrolled' ELSE 'Enrolled' END, $3, 'user' || (n % 5000), $4
         FROM generate_series(1::bigint, $1::bigint) AS n`,
        [INVENTORY / 2, id, new Date(now.getTime() - day), now],
      );
    }
  });
  await db.manager.query('ANALYZE');
  const [{ total }] = await db.manager.query('SELECT COUNT(*) AS total FROM certificates');
  log(`Filled ${total} certificates and ${INVENTORY} inventory devices (PostgreSQL) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function runToNull(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; bytes: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    let lines = 0;
    child.stdout.on('data', (b: Buffer) => {
      bytes += b.length;
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) lines++;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes, lines }) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-lists-bench-'));
  const pg = PG ? await createTestDatabase() : undefined;
  const file = pg?.url ?? path.join(dir, 'scepter.sqlite');
  const db = await Database.open(file);
  try {
    await fill(db);
    const lists = new ListService(new ListRepository(db), systemClock);
    const q = (sql: string) => () => db.manager.query(sql);
    const cols = 'id, serial, subject, status, not_before, not_after, integration_id, device_id, revoked_at, revocation_reason, last_seen_at';
    const deep = Math.floor(CERTS * 0.9);
    const peerPage = await timed(q(`SELECT ${cols} FROM certificates WHERE id > ${deep} ORDER BY id LIMIT 100`));
    const peerOffset = await timed(q(`SELECT ${cols} FROM certificates ORDER BY not_after, id LIMIT 100 OFFSET ${deep}`));
    log(
      `Peer (same driver): bare SELECT of 100 rows by primary key ${peerPage.toFixed(2)} ms; the same deep page by OFFSET ${deep} ${peerOffset.toFixed(1)} ms`,
    );
    log('');
    log('| List | Filter | first page (100) | deep page | vs bare SELECT |');
    log('|---|---|---|---|---|');
    const row = async (kind: 'certificates' | 'devices' | 'inventory', label: string, raw: RawListParams, deepCursor?: string) => {
      const first = await timed(() => lists[kind](raw));
      let deepMs: number | undefined;
      if (deepCursor) deepMs = await timed(() => lists[kind]({ ...raw, cursor: deepCursor }));
      else {
        const p1 = await lists[kind](raw);
        if (p1.nextCursor) deepMs = await timed(() => lists[kind]({ ...raw, cursor: p1.nextCursor! }));
      }
      const worst = Math.max(first, deepMs ?? 0);
      log(
        `| ${kind} | ${label} | ${first.toFixed(2)} ms | ${deepMs === undefined ? '-' : `${deepMs.toFixed(2)} ms${deepCursor ? '' : ' (page 2)'}`} | ${(worst / peerPage).toFixed(1)}x |`,
      );
    };
    const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
    await row('certificates', '(none)', {}, encodeCursor('certificates:id', [deep]));
    await row('certificates', 'integration', { integration: 'DI-BENCH-3' }, encodeCursor('certificates:id', [deep]));
    await row('certificates', 'status=revoked', { status: 'revoked' }, encodeCursor('certificates:id', [deep]));
    await row('certificates', 'status=superseded', { status: 'superseded' }, encodeCursor('certificates:id', [deep]));
    await row('certificates', 'status=valid', { status: 'valid' }, encodeCursor('certificates:id', [deep]));
    await row(
      'certificates',
      'status=expired',
      { status: 'expired' },
      encodeCursor('certificates:notAfter', [new Date(Date.now() - 86_400_000).toISOString(), deep]),
    );
    await row(
      'certificates',
      `expiringBefore=${future(30)}`,
      { expiringBefore: future(30) },
      encodeCursor('certificates:notAfter', [new Date(Date.now() + 25 * 86_400_000).toISOString(), 0]),
    );
    await row('certificates', 'integration + status=revoked', { integration: 'DI-BENCH-3', status: 'revoked' }, encodeCursor('certificates:id', [deep]));
    await row('certificates', 'device prefix dev-08', { device: 'dev-08' }, encodeCursor('certificates:device', ['dev-08f', 0]));
    await row('devices', '(none)', {}, encodeCursor('devices', ['dev-080000', '']));
    await row('devices', 'integration', { integration: 'DI-BENCH-3' }, encodeCursor('devices:integration', ['dev-080000', 'DI-BENCH-3']));
    await row('devices', 'device prefix dev-08', { device: 'dev-08' }, encodeCursor('devices', ['dev-08f', '']));
    await row('devices', 'trust=revoked', { trust: 'revoked' });
    await row('devices', 'trust=expired', { trust: 'expired' });
    await row('devices', 'trust=trusted', { trust: 'trusted' }, encodeCursor('devices', ['dev-080000', '']));
    await row('inventory', '(none)', {}, encodeCursor('inventory', ['DI-BENCH-1', '0'.repeat(32) + 'f0']));
    await row('inventory', 'platform=Android', { platform: 'Android' }, encodeCursor('inventory', ['DI-BENCH-1', '0'.repeat(32) + 'f0']));
    await row('inventory', 'integration + device prefix', { integration: 'DI-BENCH-1', device: 'ab' });
    await row('inventory', 'enrollmentStatus=Unenrolled', { enrollmentStatus: 'Unenrolled' });
    // the export's peer through the same driver: every row read by bare keyset SELECTs, nothing else
    const t0 = process.hrtime.bigint();
    let read = 0;
    for (let last = 0; ;) {
      const rows: { id: number }[] = await db.manager.query(`SELECT ${cols} FROM certificates WHERE id > ${PG ? '$1' : '?'} ORDER BY id LIMIT 2000`, [last]);
      if (!rows.length) break;
      read += rows.length;
      last = Number(rows[rows.length - 1]!.id);
    }
    const bareRead = Number(process.hrtime.bigint() - t0) / 1e6;
    await db.close();

    log('');
    log(
      `Bare keyset read of all ${read} certificates through the same driver (${PG ? 'pg' : 'sqlite3'} + TypeORM query, pages of 2,000): ${(bareRead / 1000).toFixed(2)} s`,
    );
    if (!EXPORT) return;
    const env = { ...process.env, SCEPTER_DATABASE: file, SCEPTER_CERTS_DIR: path.join(dir, 'certs'), SCEPTER_CA_KEY_BITS: '2048' };
    const cli = path.join(__dirname, '..', '..', 'src', 'cli', 'index.js');
    await runToNull(process.execPath, [cli, 'ca', 'show'], env).catch(() => undefined); // creates the CA once, outside the timing
    const ours = await runToNull(process.execPath, [cli, 'cert', 'list', '--csv'], env);
    const select =
      'SELECT serial, subject, status, integration_id, device_id, not_before, not_after, revoked_at, revocation_reason, last_seen_at, id FROM certificates ORDER BY id';
    const peer = PG
      ? await runToNull('psql', [file, '-qAc', `\\copy (${select}) TO STDOUT WITH CSV HEADER`], env)
      : await runToNull('sqlite3', ['-csv', '-header', file, select], env);
    log(
      `Full CSV export of ${ours.lines - 1} certificates: scepter cert list --csv ${(ours.ms / 1000).toFixed(2)} s (${(ours.bytes / 1e6).toFixed(0)} MB) = ${(ours.ms / bareRead).toFixed(2)}x the bare read; ${PG ? 'psql \\copy ... CSV' : 'sqlite3 -csv'}, same columns: ${(peer.ms / 1000).toFixed(2)} s (${(peer.bytes / 1e6).toFixed(0)} MB): ratio ${(ours.ms / peer.ms).toFixed(2)}x`,
    );
    const devs = await runToNull(process.execPath, [cli, 'device', 'list', '--csv'], env);
    log(`Full CSV export of ${devs.lines - 1} devices: scepter device list --csv ${(devs.ms / 1000).toFixed(2)} s`);
  } finally {
    await db.close().catch(() => undefined);
    if (pg && !process.env.LISTS_BENCH_KEEP) await pg.drop();
    if (!process.env.LISTS_BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
