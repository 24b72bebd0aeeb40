import { expect } from 'chai';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { appleDevice, cli, enrollMany, ok, udid } from './migration-support';

describe('admin completeness: undoing group, integration and policy changes; migration steps in the admin API', function () {
  this.timeout(180_000);
  let server: IntegrationServer;
  const keys: Record<string, string> = {};

  const call = async (method: string, path: string, key = keys.administrator, body?: unknown) => {
    const res = await fetch(`${server.url}/admin/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const audit = async (action: string) =>
    (await server.app.services.audit.list({ action, limit: 100 })).map((e) => ({ target: e.target, details: e.details, who: e.who }));

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    for (const role of ['owner', 'administrator', 'application-manager', 'read-only'] as const)
      keys[role] = (await server.app.services.apiKeys.create(role, TEST_ACTOR)).key;
  });
  after(async () => server?.destroy());

  it('removes a group member (audited once), through the API and the CLI', async () => {
    await call('POST', '/groups', keys.administrator, { name: 'pilots' });
    for (const user of ['alice', 'bob', 'carol']) await call('POST', '/groups/pilots/members', keys.administrator, { user });
    expect((await call('DELETE', '/groups/pilots/members/alice', keys['application-manager'])).status).to.equal(403);
    const r = await call('DELETE', '/groups/pilots/members/alice');
    expect(r).to.deep.include({ status: 200 });
    expect(r.body).to.include({ name: 'pilots', removed: true });
    expect(r.body.members).to.deep.equal(['bob', 'carol']);
    const again = await call('DELETE', '/groups/pilots/members/alice');
    expect(again.body).to.include({ removed: false });
    expect((await call('DELETE', '/groups/nobody/members/alice')).body).to.deep.equal({ error: 'not_found', message: 'no group nobody' });
    const c = ok(await cli(server, ['--json', 'group', 'remove-member', 'pilots', 'bob']));
    expect(c).to.include({ removed: true });
    expect(c.members).to.deep.equal(['carol']);
    const text = await cli(server, ['group', 'remove-member', 'pilots', 'zed']);
    expect(text.stdout).to.contain('not a member: zed');
    const entries = await audit('group.remove-member');
    expect(entries.map((e) => e.details)).to.deep.equal([{ user: 'alice' }, { user: 'bob' }]);
  });

  it('deletes a group: refused while an integration is in test-group with it, then gone with its memberships', async () => {
    const s = server.app.services;
    await s.groups.create('testers', TEST_ACTOR);
    await s.groups.addMember('testers', 'dave', TEST_ACTOR);
    const i = await s.integrations.create({ type: 'ios', name: 'Uses testers' }, TEST_ACTOR);
    await s.integrations.setStatus(i.id, 'test-group', 'testers', TEST_ACTOR);
    const refused = await call('DELETE', '/groups/testers');
    expect(refused.status).to.equal(409);
    expect(refused.body.message).to.equal(`group testers is the test group of ${i.id}: change their status first`);
    expect((await s.groups.show('testers')).members).to.deep.equal(['dave']);
    await s.integrations.setStatus(i.id, 'disabled', undefined, TEST_ACTOR);
    const r = await call('DELETE', '/groups/testers');
    expect(r).to.deep.equal({ status: 200, body: { name: 'testers', deleted: true, members: 1 } });
    expect((await call('GET', '/groups/testers')).status).to.equal(404);
    const [{ n }] = await s.db.manager.query("SELECT COUNT(*) AS n FROM user_group_members m JOIN users u ON u.id = m.user_id WHERE u.username = 'dave'");
    expect(Number(n)).to.equal(0);
    // the name is free again; the CLI deletes too
    await s.groups.create('testers', TEST_ACTOR);
    const c = ok(await cli(server, ['--json', 'group', 'delete', 'testers']));
    expect(c).to.deep.equal({ name: 'testers', deleted: true, members: 0 });
    const gone = await cli(server, ['group', 'delete', 'testers']);
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.equal('scepter: no group testers\n');
    expect((await audit('group.delete')).map((e) => [e.target, e.details])).to.deep.equal([
      ['testers', { members: 1 }],
      ['testers', { members: 0 }],
    ]);
  });

  it('renames an integration (application managers may), keeping its id; bad names are refused', async () => {
    const s = server.app.services;
    const i = await createIosCerts(server, 'Old name');
    const r = await call('PUT', `/integrations/${i.id}/name`, keys['application-manager'], { name: '  New name  ' });
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ id: i.id, name: 'New name', scepUrl: i.scepUrl });
    expect((await call('PUT', `/integrations/${i.id}/name`, keys['read-only'], { name: 'x' })).status).to.equal(403);
    for (const bad of [{ name: '' }, { name: 'a\u0007b' }, { name: 'x'.repeat(201) }, { name: 5 }, {}]) {
      const b = await call('PUT', `/integrations/${i.id}/name`, keys.administrator, bad);
      expect(b.status, JSON.stringify(bad)).to.equal(400);
    }
    expect((await call('PUT', '/integrations/DINOSUCH/name', keys.administrator, { name: 'x' })).status).to.equal(404);
    expect((await s.integrations.show(i.id)).name).to.equal('New name');
    const c = ok(await cli(server, ['--json', 'integration', 'rename', i.id, 'Third name']));
    expect(c).to.include({ id: i.id, name: 'Third name' });
    expect((await audit('integration.rename')).filter((e) => e.target === i.id).map((e) => e.details)).to.deep.equal([
      { from: 'Old name', to: 'New name' },
      { from: 'New name', to: 'Third name' },
    ]);
  });

  it('removes a per-application policy override: the global policy applies again', async () => {
    const s = server.app.services;
    await s.trustPolicy.set('allow-all', undefined, TEST_ACTOR);
    await s.trustPolicy.set('require-trusted', 'vpn', TEST_ACTOR);
    await s.trustPolicy.set('not-configured', 'wiki', TEST_ACTOR);
    expect((await call('DELETE', '/trust/policy/applications/vpn', keys['read-only'])).status).to.equal(403);
    const r = await call('DELETE', '/trust/policy/applications/vpn', keys['application-manager']);
    expect(r.status).to.equal(200);
    expect(r.body.global).to.equal('allow-all');
    expect(r.body.applications.map((a: { application: string }) => a.application)).to.deep.equal(['wiki']);
    expect(await s.trustPolicy.isDeviceTrustRequired()).to.equal(false);
    const missing = await call('DELETE', '/trust/policy/applications/vpn');
    expect(missing).to.deep.equal({ status: 404, body: { error: 'not_found', message: 'application vpn has no policy override' } });
    const c = ok(await cli(server, ['--json', 'policy', 'remove', 'wiki']));
    expect(c.applications).to.deep.equal([]);
    const none = await cli(server, ['policy', 'remove', 'wiki']);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.equal('scepter: application wiki has no policy override\n');
    expect((await audit('trust.policy.remove')).map((e) => e.target)).to.deep.equal(['vpn', 'wiki']);
  });

  describe('migration steps through the admin API', () => {
    let sim: Ws1Simulator;
    let legacy: string;
    let udids: string[];
    before(async () => {
      const s = server.app.services;
      const integ = await createIosCerts(server, 'Legacy');
      legacy = integ.id;
      await s.integrations.setStatus(legacy, 'all', undefined, TEST_ACTOR);
      udids = (
        await enrollMany(
          server,
          integ,
          Array.from({ length: 3 }, (_, i) => udid('dddd', i)),
        )
      ).map((d) => d.udid);
      sim = await startWs1Simulator({ inventory: udids.map((u) => appleDevice(u)) });
    });
    after(async () => sim?.close());

    it('plan, apply, verify, cutover, rollback as the CLI does them; dry runs change nothing; roles and bad bodies refused', async () => {
      const ws1 = { url: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode };
      expect((await call('POST', `/migrations/${legacy}/plan`, keys['read-only'], { ws1 })).status).to.equal(403);
      expect((await call('POST', `/migrations/${legacy}/plan`, keys.administrator, { ws1: { url: sim.url } })).body.message).to.match(
        /ws1.username \(string\) is required/,
      );
      expect((await call('POST', `/migrations/${legacy}/plan`, keys.administrator, '{"dryRun": "yes"}')).status).to.equal(400);
      expect((await call('POST', `/migrations/${legacy}/plan`, keys.administrator, 'not json')).status).to.equal(400);
      expect((await call('POST', `/migrations/${legacy}/cutover`)).body.message).to.match(/no migration of .* yet/);

      const dryPlan = await call('POST', `/migrations/${legacy}/plan`, keys.administrator, { ws1, dryRun: true });
      expect(dryPlan.status).to.equal(200);
      expect((await server.app.services.db.manager.query('SELECT COUNT(*) AS n FROM legacy_migrations'))[0].n).to.equal(0);
      const plan = await call('POST', `/migrations/${legacy}/plan`, keys.administrator, { ws1 });
      expect(plan.body).to.include({ step: 'plan', legacyId: legacy, state: 'planned' });
      expect(plan.body.readiness.ready).to.equal(3);

      // entered WS1 settings are not kept by plan: apply takes them again (as --ws1-* on the CLI)
      expect((await call('POST', `/migrations/${legacy}/apply`, keys.administrator, { dryRun: true })).body.message).to.match(/missing WS1 settings/);
      const dryApply = await call('POST', `/migrations/${legacy}/apply`, keys.administrator, { ws1, dryRun: true });
      expect(dryApply.body).to.include({ outcome: 'dry-run' });
      const state = async () =>
        (await server.app.services.db.manager.query('SELECT state FROM legacy_migrations WHERE legacy_integration_id = ?', [legacy]))[0]?.state ?? null;
      expect(await state()).to.equal('planned');
      const apply = await call('POST', `/migrations/${legacy}/apply`, keys.administrator, { ws1, name: 'Via the API' });
      expect(apply.body).to.include({ outcome: 'done', state: 'applied' });
      const appConfigId = apply.body.appConfigId as string;
      expect((await server.app.services.integrations.show(appConfigId)).name).to.equal('Via the API');
      expect((await call('POST', `/migrations/${legacy}/apply`)).body).to.include({ outcome: 'already' });

      expect((await call('POST', `/migrations/${legacy}/verify`)).body).to.include({ state: 'verified' });
      const cut = await call('POST', `/migrations/${legacy}/cutover`, keys.administrator, { minReady: 100 });
      expect(cut.body).to.include({ state: 'cut-over' });
      expect((await server.app.services.integrations.show(legacy)).status).to.equal('disabled');
      expect((await server.app.services.integrations.show(appConfigId)).status).to.equal('all');

      const rb = await call('POST', `/migrations/${legacy}/rollback`);
      expect(rb.body).to.include({ outcome: 'done' });
      expect((await server.app.services.integrations.show(legacy)).status).to.equal('all');
      const status = (await call('GET', '/migrations', keys['read-only'])).body;
      expect(JSON.stringify(status)).to.contain(legacy);
      expect((await audit('migration.rollback')).length + (await audit('migration.apply')).length).to.be.greaterThan(0);
    });
  });
});
