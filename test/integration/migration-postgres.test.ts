// The legacy-integration migration on PostgreSQL, where transactions really run concurrently: the whole migration through
// the service, and two runs of the same step racing (exactly one wins, the other changes nothing).
import { expect } from 'chai';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { MigrationConflictError } from '../../src/db/migration.repository';
import type { MigrationService } from '../../src/migration/migration.service';
import { createTestDatabase } from '../support/postgres';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { appleDevice, enrollMany, snapshot, udid } from './migration-support';

describe('PostgreSQL: a migration through the service, and racing steps', function () {
  this.timeout(120_000);
  let server: IntegrationServer;
  let sim: Ws1Simulator;
  let drop: () => Promise<void>;
  let svc: MigrationService;
  let legacy: string;
  const opts = () => ({ actor: TEST_ACTOR });

  before(async function () {
    const db = await createTestDatabase();
    drop = db.drop;
    server = await startIntegrationServer({ SCEPTER_DATABASE: db.url, SCEPTER_SYNC_SCHEDULE: 'off' });
    const integ = await createIosCerts(server, 'PG legacy');
    legacy = integ.id;
    await server.app.services.integrations.setStatus(legacy, 'all', undefined, TEST_ACTOR);
    const udids = (
      await enrollMany(
        server,
        integ,
        Array.from({ length: 4 }, (_, i) => udid('9a9a', i)),
      )
    ).map((d) => d.udid);
    sim = await startWs1Simulator({ inventory: udids.slice(1).map((u) => appleDevice(u)) });
    svc = server.app.services.migration();
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
    await drop?.();
  });

  it('plans with entered settings, applies, verifies, and of two racing cutovers exactly one commits', async () => {
    const ws1 = { settings: { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode } };
    const plan = await (await svc.plan(legacy, { ...opts(), ws1 })).execute();
    expect(plan.readiness).to.include({ total: 4, ready: 3 });
    await (await svc.apply(legacy, { ...opts(), ws1 })).execute();
    expect((await (await svc.verify(legacy, opts())).execute()).readiness).to.include({ source: 'ws1-sync', ready: 3 });
    const [x, y] = await Promise.all([svc.cutover(legacy, { ...opts(), minReady: 70 }), svc.cutover(legacy, { ...opts(), minReady: 70 })]);
    const results = await Promise.allSettled([x.execute(), y.execute()]);
    expect(results.map((r) => r.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).to.be.instanceOf(MigrationConflictError);
    const audits = (await server.app.services.audit.list({ limit: 1000, action: 'migration.cutover' })).filter((e) => e.target === legacy);
    expect(audits).to.have.length(1);
  });

  it('rolls back, plans again, and finalizes: every certificate revoked in the same transaction as the deletion', async () => {
    expect((await (await svc.rollback(legacy, opts())).execute()).state).to.equal('rolled-back');
    expect((await server.app.services.integrations.get(legacy)).status).to.equal('all');
    await (await svc.plan(legacy, opts())).execute(); // the App Config integration's own settings now
    await (await svc.apply(legacy, opts())).execute();
    await (await svc.verify(legacy, opts())).execute();
    await (await svc.cutover(legacy, { ...opts(), minReady: 70 })).execute();
    const before = await snapshot(server);
    const [x, y] = await Promise.all([svc.finalize(legacy, { ...opts(), graceDays: 0 }), svc.finalize(legacy, { ...opts(), graceDays: 0 })]);
    const results = await Promise.allSettled([x.execute(), y.execute()]);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ revoked?: number }>).value.revoked)).to.deep.equal([4]);
    expect(await snapshot(server)).to.not.equal(before);
    const [row] = await server.app.services.db.manager.query("SELECT COUNT(*) AS n FROM certificates WHERE integration_id = $1 AND status = 'revoked'", [
      legacy,
    ]);
    expect(Number(row.n)).to.equal(4);
    expect(await svc.find(legacy)).to.include({ state: 'finalized', revokedCount: 4, attempt: 2 });
  });
});
