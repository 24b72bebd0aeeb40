// The console's certificate counts come from a job that stores them in the database: page views
// never count (the stored snapshot and the job's lease stay as they were), the dashboard shows when
// the counts were computed, and a count taken by another instance's job shows on this one.
import { expect } from 'chai';
import { ConsoleStatsRepository } from '../../src/db/console-stats.repository';
import { dateParam } from '../../src/db/dialect';
import { JobLeaseRepository } from '../../src/db/job-lease.repository';
import { ConsoleStatsJob } from '../../src/jobs/console-stats.job';
import { createLogger } from '../../src/shared/logger';
import { Visitor } from '../support/console-visitor';
import { startTestServer, type TestServer } from '../support/test-server';

describe('console certificate counts from the console-stats job', function () {
  this.timeout(60_000);
  let server: TestServer;
  let viewer: Visitor;
  const snapshotRow = async () =>
    (await server.app.services.db.manager.query('SELECT computed_at, counts FROM console_stats WHERE name = ?', ['certificates']))[0] as
      { computed_at: string; counts: string } | undefined;
  const lastRun = async () => (await new JobLeaseRepository(server.app.services.db).lastRun('console-stats'))?.at.getTime();

  before(async () => {
    server = await startTestServer({ SCEPTER_CONSOLE_STATS_SECONDS: '86400' });
    const actor = { who: 'test', from: 'test' };
    await server.app.services.adminUsers.create(
      { name: 'Rita Reader', email: 'rita@example.com', role: 'read-only', password: 'read only password' },
      actor,
      'cli',
    );
    viewer = new Visitor(server.url);
    expect((await viewer.signIn('rita@example.com', 'read only password')).status).to.equal(302);
  });
  after(async () => server.destroy());

  it('counts at start, not on page views; a count by another instance shows with its time', async () => {
    // the job's first count runs at start, in the background
    for (let i = 0; i < 200 && !(await snapshotRow()); i++) await new Promise((r) => setTimeout(r, 50));
    const first = await snapshotRow();
    expect(first, 'the first count').not.to.equal(undefined);
    const firstRun = await lastRun();
    expect(firstRun).to.be.a('number');

    const db = server.app.services.db;
    const integration = await server.app.services.integrations.create({ type: 'ios-certs', name: 'Legacy', allowLegacy: true }, { who: 'test', from: 'test' });
    const now = Date.now();
    const d = (ms: number) => dateParam(db.dialect, new Date(ms));
    for (const [n, status] of [
      [1, 'valid'],
      [2, 'valid'],
      [3, 'revoked'],
    ] as const)
      await db.manager.query(
        'INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, revoked_at, revocation_reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          `7E0${n}`,
          `CN=dev-${n}`,
          `${n}`.padStart(64, '0'),
          `${n}`.padStart(64, '0'),
          d(now - 86_400_000),
          d(now + 10 * 86_400_000),
          Buffer.from([0x30, 0]),
          integration.id,
          integration.id,
          `dev-${n}`,
          status,
          status === 'revoked' ? d(now) : null,
          status === 'revoked' ? 1 : null,
          d(now),
        ],
      );

    // page views read the stored snapshot: nothing is counted for them
    for (const path of ['/console', `/console/integrations/${integration.id}`, '/console/migrations', '/console']) {
      const r = await viewer.get(path);
      expect(r.res.status, path).to.equal(200);
    }
    const dash = await viewer.get('/console');
    expect(dash.text).to.match(/Counted \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ; recounted every 86400 s by a background job/);
    expect(await snapshotRow()).to.deep.equal(first);
    expect(await lastRun()).to.equal(firstRun);

    // another instance's job on the same database: a fresh snapshot is not counted again unless forced
    const other = new ConsoleStatsJob(new ConsoleStatsRepository(db), new JobLeaseRepository(db), {
      intervalMs: 86_400_000,
      clock: { now: () => new Date() },
      logger: createLogger('silent'),
    });
    expect(await other.runOnce(false)).to.equal(false);
    expect(await other.runOnce(true)).to.equal(true);
    const counts = JSON.parse((await snapshotRow())!.counts) as Record<string, { valid: number; revoked: number; devices: number }>;
    expect(counts[integration.id]).to.deep.include({ valid: 2, revoked: 1, devices: 2 });
    const after = await viewer.get('/console');
    const tiles = [...after.text.matchAll(/<span class="big">(\d+)<\/span>\s*(valid|expiring within 30 days|revoked)/g)].map((m) => [m[2], Number(m[1])]);
    expect(Object.fromEntries(tiles)).to.deep.equal({ valid: 2, 'expiring within 30 days': 2, revoked: 1 });
    const page = await viewer.get(`/console/integrations/${integration.id}`);
    expect(page.res.status).to.equal(200);
  });
});
