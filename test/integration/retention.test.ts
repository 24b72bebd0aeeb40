import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { rawQuery } from '../../src/db/raw-sql';
import { dateParam } from '../../src/db/dialect';
import { JobLeaseRepository } from '../../src/db/job-lease.repository';
import { PkiStatus } from '../../src/scep/scep.types';
import { createTestDatabase } from '../support/postgres';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { parsePromText, sumOf } from '../support/prom-text';

const DAY = 86_400_000;
const CLI = path.resolve(__dirname, '../../src/cli/index.js');
const RETENTION_ENV = { SCEPTER_AUTH_LOG_RETENTION_DAYS: '90', SCEPTER_AUDIT_RETENTION_DAYS: '365', SCEPTER_SCEP_TRANSACTION_RETENTION_DAYS: '30' };

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Rows of each kind at chosen ages, and what a retention run must leave. */
async function seed(server: TestServer) {
  const { db } = server.app.services;
  const d = db.dialect;
  const sql = (text: string, params: unknown[]) => rawQuery(db.manager, d, text, params);
  const ago = (days: number) => dateParam(d, new Date(Date.now() - days * DAY));
  // 2,500 old auth-log rows (three batches of 1,000) and 3 recent ones
  const authRow = (days: number, i: number) => [
    ago(days),
    `user-${i}`,
    null,
    'deny',
    false,
    'no-certificate',
    'require',
    'none',
    null,
    null,
    null,
    '127.0.0.1',
    null,
  ];
  const insertAuth = async (rows: unknown[][]) => {
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      await sql(
        `INSERT INTO auth_log (at, user_name, application, decision, trusted, reason, policy, method, integration_id, device_id, serial, source_address, note) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flat(),
      );
    }
  };
  await insertAuth(Array.from({ length: 2500 }, (_, i) => authRow(91 + (i % 50), i)));
  await insertAuth([authRow(89, 1), authRow(10, 2), authRow(0, 3)]);
  for (const [days, action] of [
    [400, 'old.a'],
    [366, 'old.b'],
    [364, 'new.a'],
    [1, 'new.b'],
  ] as const) {
    await sql('INSERT INTO audit_log (at, actor, source, action, target, details) VALUES (?, ?, ?, ?, ?, ?)', [ago(days), 'test', 'test', action, null, null]);
  }
  // SCEP transactions: two real enrollments made to look old, one of them with its certificate expired
  const cas = await server.client.getCaCertificates();
  const [kValid, kExpired] = await pooledKeys(2);
  const valid = await server.client.enroll({
    cas,
    subject: [{ type: 'CN', value: 'kept' }],
    challenge: TEST_CHALLENGE,
    key: kValid,
    transactionId: 'tid-valid',
  });
  const expired = await server.client.enroll({
    cas,
    subject: [{ type: 'CN', value: 'gone' }],
    challenge: TEST_CHALLENGE,
    key: kExpired,
    transactionId: 'tid-expired',
  });
  expect([valid.status, expired.status]).to.deep.equal([PkiStatus.SUCCESS, PkiStatus.SUCCESS]);
  await sql('UPDATE scep_transactions SET updated_at = ?, created_at = ? WHERE transaction_id IN (?, ?)', [ago(40), ago(40), 'tid-valid', 'tid-expired']);
  await sql('UPDATE certificates SET not_after = ? WHERE serial = ?', [ago(1), expired.certificate!.serialHex]);
  const tx = (tid: string, status: number, days: number) =>
    sql(
      'INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, fail_info, fail_text, certificate_serial, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ['default', tid, 'ab'.repeat(20), 19, status, status === 2 ? 2 : null, status === 2 ? 'refused' : null, null, ago(days), ago(days)],
    );
  await tx('tid-old-failure', 2, 31);
  await tx('tid-new-failure', 2, 29);
  await tx('tid-old-pending', 3, 100);
  return { valid, kValid, cas };
}

async function count(server: TestServer, table: string, where = '1 = 1', params: unknown[] = []): Promise<number> {
  const { db } = server.app.services;
  const rows = await rawQuery<{ n: number | string }[]>(db.manager, db.dialect, `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params);
  return Number(rows[0]!.n);
}

async function transactionIds(server: TestServer): Promise<string[]> {
  const { db } = server.app.services;
  const rows = await rawQuery<{ transaction_id: string }[]>(db.manager, db.dialect, 'SELECT transaction_id FROM scep_transactions ORDER BY transaction_id', []);
  return rows.map((r) => r.transaction_id);
}

function retentionSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>, viaCli: boolean) {
  describe(`retention on ${name}`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let cleanup: () => Promise<void> = async () => undefined;

    before(async () => {
      const e = await env();
      cleanup = e.cleanup;
      server = await startTestServer({ ...RETENTION_ENV, ...e.env });
    });
    after(async () => {
      await server?.destroy();
      await cleanup();
    });

    it('deletes rows older than each window in batches, keeps newer ones and transactions that back a valid certificate', async () => {
      const { valid, kValid, cas } = await seed(server);
      let deleted: { authLog: number; audit: number; scepTransactions: number };
      if (viaCli) {
        const r = await cli(['retention', 'run', '--json'], server.env);
        expect(r.code, r.stderr).to.equal(0);
        const out = JSON.parse(r.stdout) as { ran: boolean; deleted: typeof deleted; partial: boolean };
        expect(out.ran).to.equal(true);
        expect(out.partial).to.equal(false);
        deleted = out.deleted;
      } else {
        const r = await server.app.services.retention.runOnce();
        deleted = r!.deleted;
      }
      expect(deleted).to.deep.equal({ authLog: 2500, audit: 2, scepTransactions: 2 });
      expect(await count(server, 'auth_log')).to.equal(3);
      expect(
        (
          await rawQuery<{ action: string }[]>(
            server.app.services.db.manager,
            server.app.services.db.dialect,
            'SELECT action FROM audit_log WHERE action LIKE ? ORDER BY action',
            ['%.%'],
          )
        ).map((r) => r.action),
      )
        .to.include.members(['new.a', 'new.b'])
        .and.not.include.members(['old.a', 'old.b']);
      expect(await transactionIds(server)).to.deep.equal(['tid-new-failure', 'tid-old-pending', 'tid-valid']);
      // the kept transaction still answers a retry with the same certificate
      const again = await server.client.enroll({
        cas,
        subject: [{ type: 'CN', value: 'kept' }],
        challenge: TEST_CHALLENGE,
        key: kValid,
        transactionId: 'tid-valid',
      });
      expect(again.certificate!.serialHex).to.equal(valid.certificate!.serialHex);
      // a second run finds nothing more
      const second = await server.app.services.retention.runOnce();
      expect(second!.deleted).to.deep.equal({ authLog: 0, audit: 0, scepTransactions: 0 });
    });

    it('serves enrollments while a long run deletes in batches', async () => {
      const { db } = server.app.services;
      const old = dateParam(db.dialect, new Date(Date.now() - 200 * DAY));
      const gen =
        db.dialect === 'postgres'
          ? 'SELECT g AS i FROM generate_series(1, 60000) AS g'
          : 'WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 60000) SELECT i FROM seq';
      await rawQuery(
        db.manager,
        db.dialect,
        `INSERT INTO auth_log (at, user_name, decision, trusted, reason, policy, method, source_address) SELECT ?, 'bulk', 'deny', ${db.dialect === 'postgres' ? 'false' : '0'}, 'no-certificate', 'require', 'none', '127.0.0.1' FROM (${gen}) AS s`,
        [old],
      );
      let finished = false;
      // 60 batches of 1,000 with a 50 ms pause between them
      const run = server.app.services.retention.runOnce().then((r) => {
        finished = true;
        return r;
      });
      const [key] = await pooledKeys(1);
      const cas = await server.client.getCaCertificates();
      const r = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'during-retention' }], challenge: TEST_CHALLENGE, key });
      expect(r.status).to.equal(PkiStatus.SUCCESS);
      expect(finished, 'the enrollment was answered while the run was still deleting').to.equal(false);
      expect((await run)!.deleted.authLog).to.equal(60000);
    });

    it('runs on one instance at a time (job lease), and counts runs and rows in /metrics', async () => {
      const leases = new JobLeaseRepository(server.app.services.db);
      const now = new Date();
      expect(await leases.tryAcquire('retention', 'another-instance', now, new Date(now.getTime() + 60_000))).to.equal(true);
      expect(await server.app.services.retention.runOnce()).to.equal(undefined);
      await leases.release('retention', 'another-instance', new Date(), 'test');
      expect(await server.app.services.retention.runOnce()).to.not.equal(undefined);
      const samples = parsePromText(await (await fetch(`${server.url}/metrics`)).text());
      expect(sumOf(samples, 'scepter_retention_runs_total', { result: 'skipped' })).to.equal(1);
      expect(sumOf(samples, 'scepter_retention_runs_total', { result: 'done' })).to.be.at.least(2);
      expect(sumOf(samples, 'scepter_retention_deleted_rows_total', { table: 'auth_log' })).to.equal(viaCli ? 60000 : 62500);
      expect(sumOf(samples, 'scepter_retention_last_success_timestamp_seconds')).to.be.greaterThan(0);
      // the PostgreSQL pool is exported; SQLite has no pool
      expect(samples.some((s) => s.name === 'scepter_db_pool_connections')).to.equal(!viaCli);
      if (!viaCli) expect(sumOf(samples, 'scepter_db_pool_connections')).to.be.greaterThan(0);
    });
  });
}

retentionSuite('SQLite (through the CLI)', async () => ({ env: {}, cleanup: async () => undefined }), true);
retentionSuite(
  'PostgreSQL',
  async () => {
    const db = await createTestDatabase();
    return { env: { SCEPTER_DATABASE: db.url }, cleanup: db.drop };
  },
  false,
);
