import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { can, PERMISSIONS, ROLES, type Permission, type Role } from '../../src/admin/roles';
import { createCertIntegration, issue, issueForDevice, scratch, TEST_ACTOR } from '../integration/revocation-support';
import { startTestServer, type TestServer } from '../support/test-server';
import { adminApi } from './security-support';

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

const DOC = path.resolve(__dirname, '../../../docs/integrations.md');

/** The documented role table (docs/integrations.md, "Roles"): permission -> the roles that hold it. */
function documentedGrants(): Map<string, Set<Role>> {
  const grants = new Map<string, Set<Role>>();
  for (const m of fs.readFileSync(DOC, 'utf8').matchAll(/^\| `([a-z0-9:-]+)` \| (yes|no) \| (yes|no) \| (yes|no) \| (yes|no) \|/gm)) {
    grants.set(m[1]!, new Set(ROLES.filter((_r, i) => m[i + 2] === 'yes')));
  }
  return grants;
}

/** The documented route table (docs/integrations.md, "Roles"): the spec each route is tested against. */
function documentedRoutes(): { method: string; path: string; permission: Permission }[] {
  const rows = [...fs.readFileSync(DOC, 'utf8').matchAll(/^\| `(GET|POST|PUT|DELETE) (\/admin\/v1[^`?]*)(?:\?[^`]*)?` \| `([a-z0-9:-]+)` \|/gm)];
  return rows.map((m) => ({ method: m[1]!, path: m[2]!, permission: m[3] as Permission }));
}

/**
 * Threat: an admin role does more than the documented role table grants (an application manager
 * deleting integrations, revoking in bulk, pointing WS1 secrets elsewhere). Every admin route is
 * called with every role: 2xx where the table grants the route's permission, 403 where it does not.
 */
describe('security: roles follow one documented table, route by route', function () {
  this.timeout(300_000);
  let server: TestServer;
  let sim: Ws1Simulator;
  const keys = {} as Record<Role, string>;
  let android: string;
  let certs: string;
  let seq = 0;
  const files = scratch();
  const next = () => `${++seq}`;
  const udid = () => `00008030-${(0x1a2d3c0e88800000 + ++seq).toString(16).toUpperCase().padStart(16, '0').slice(-16)}`;
  const s = () => server.app.services;
  const ws1Body = () => ({ url: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode });
  const owner = (method: string, p: string, body?: unknown) =>
    adminApi(server.url, method, p, keys.owner, body).then((r) => {
      expect(r.status, `${method} ${p}: ${JSON.stringify(r.body)}`).to.be.within(200, 299);
      return r;
    });

  /**
   * A legacy ios-certs integration (active, so cutover has users to move) whose migration was
   * driven through the API, as an owner, up to `state`; one per state, shared by the cases: they
   * use dry runs, which change nothing.
   */
  const MIGRATION_PATH = ['planned', 'applied', 'verified', 'cut-over'] as const;
  const migrations = new Map<string, Promise<string>>();
  const legacyAt = (state: (typeof MIGRATION_PATH)[number]) => {
    if (!migrations.has(state)) {
      migrations.set(
        state,
        (async () => {
          const id = await createCertIntegration(server, `Legacy ${state}`);
          await s().integrations.setStatus(id, 'all', undefined, TEST_ACTOR);
          const steps = {
            planned: ['plan'],
            applied: ['plan', 'apply'],
            verified: ['plan', 'apply', 'verify'],
            'cut-over': ['plan', 'apply', 'verify', 'cutover'],
          }[state];
          for (const step of steps) await owner('POST', `/migrations/${id}/${step}`, step === 'plan' || step === 'apply' ? { ws1: ws1Body() } : {});
          return id;
        })(),
      );
    }
    return migrations.get(state)!;
  };

  /**
   * One valid request per route (fresh objects where the call consumes or destroys them).
   * A route of the admin API without an entry here fails the test: add one with the route.
   */
  const CASES: Record<string, () => Promise<Call>> = {
    'GET /admin/v1/whoami': async () => ({ method: 'GET', path: '/whoami' }),
    'GET /admin/v1/integrations': async () => ({ method: 'GET', path: '/integrations' }),
    'POST /admin/v1/integrations': async () => ({ method: 'POST', path: '/integrations', body: { type: 'windows', name: `W${next()}` } }),
    'GET /admin/v1/integrations/:id': async () => ({ method: 'GET', path: `/integrations/${android}` }),
    'PUT /admin/v1/integrations/:id/status': async () => ({ method: 'PUT', path: `/integrations/${android}/status`, body: { status: 'disabled' } }),
    'POST /admin/v1/integrations/:id/rotate-challenge-credentials': async () => ({
      method: 'POST',
      path: `/integrations/${certs}/rotate-challenge-credentials`,
    }),
    'PUT /admin/v1/integrations/:id/subject-template': async () => ({
      method: 'PUT',
      path: `/integrations/${certs}/subject-template`,
      body: { subjectName: (await s().integrations.show(certs)).subjectName },
    }),
    'POST /admin/v1/integrations/:id/profile': async () => ({ method: 'POST', path: `/integrations/${certs}/profile`, body: { deviceUid: udid() } }),
    'GET /admin/v1/groups': async () => ({ method: 'GET', path: '/groups' }),
    'POST /admin/v1/groups': async () => ({ method: 'POST', path: '/groups', body: { name: `group-${next()}` } }),
    'GET /admin/v1/groups/:name': async () => ({ method: 'GET', path: '/groups/pilots' }),
    'POST /admin/v1/groups/:name/members': async () => ({ method: 'POST', path: '/groups/pilots/members', body: { user: `user${next()}@example.com` } }),
    'GET /admin/v1/audit': async () => ({ method: 'GET', path: '/audit?limit=5' }),
    'GET /admin/v1/api-keys': async () => ({ method: 'GET', path: '/api-keys' }),
    'POST /admin/v1/api-keys': async () => ({ method: 'POST', path: '/api-keys', body: { role: 'read-only', name: `made ${next()}` } }),
    'DELETE /admin/v1/api-keys/:id': async () => ({ method: 'DELETE', path: `/api-keys/${(await s().apiKeys.create('read-only', TEST_ACTOR)).id}` }),
    'PUT /admin/v1/integrations/:id/ws1': async () => ({
      method: 'PUT',
      path: `/integrations/${android}/ws1`,
      body: { url: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
    }),
    'GET /admin/v1/integrations/:id/ws1': async () => ({ method: 'GET', path: `/integrations/${android}/ws1` }),
    'POST /admin/v1/integrations/:id/ws1/test': async () => ({ method: 'POST', path: `/integrations/${android}/ws1/test` }),
    'POST /admin/v1/integrations/:id/ws1/sync': async () => ({ method: 'POST', path: `/integrations/${android}/ws1/sync` }),
    'GET /admin/v1/integrations/:id/devices/search': async () => ({ method: 'GET', path: `/integrations/${android}/devices/search?identifier=nothing` }),
    'GET /admin/v1/integrations/:id/app-config': async () => ({ method: 'GET', path: `/integrations/${android}/app-config` }),
    'GET /admin/v1/trust/policy': async () => ({ method: 'GET', path: '/trust/policy' }),
    'PUT /admin/v1/trust/policy': async () => ({ method: 'PUT', path: '/trust/policy', body: { policy: 'allow-all' } }),
    'GET /admin/v1/auth-log': async () => ({ method: 'GET', path: '/auth-log' }),
    'GET /admin/v1/devices/:udid': async () => {
      const d = udid();
      await issueForDevice(server, files.dir, certs, d);
      return { method: 'GET', path: `/devices/${d}` };
    },
    'GET /admin/v1/certificates': async () => ({ method: 'GET', path: '/certificates?limit=5' }),
    'POST /admin/v1/certificates/:serial/revoke': async () => ({
      method: 'POST',
      path: `/certificates/${(await issue(server, files.dir, `revoke-me-${next()}`)).cert.serialHex}/revoke`,
    }),
    'POST /admin/v1/integrations/:id/devices/:udid/revoke': async () => {
      const d = udid();
      await issueForDevice(server, files.dir, certs, d);
      return { method: 'POST', path: `/integrations/${certs}/devices/${d}/revoke` };
    },
    'GET /admin/v1/integrations/:id/deletion': async () => ({ method: 'GET', path: `/integrations/${certs}/deletion` }),
    'DELETE /admin/v1/integrations/:id': async () => ({
      method: 'DELETE',
      path: `/integrations/${(await s().integrations.create({ type: 'windows', name: `doomed ${next()}`, allowLegacy: false }, TEST_ACTOR)).id}?force=true`,
    }),
    'GET /admin/v1/openapi.json': async () => ({ method: 'GET', path: '/openapi.json' }),
    'GET /admin/v1/devices': async () => ({ method: 'GET', path: '/devices?limit=5' }),
    'GET /admin/v1/inventory': async () => ({ method: 'GET', path: '/inventory?limit=5' }),
    'PUT /admin/v1/integrations/:id/name': async () => ({ method: 'PUT', path: `/integrations/${android}/name`, body: { name: `Androids ${next()}` } }),
    'DELETE /admin/v1/groups/:name/members/:user': async () => {
      const user = `leaver${next()}@example.com`;
      await s().groups.addMember('pilots', user, TEST_ACTOR);
      return { method: 'DELETE', path: `/groups/pilots/members/${encodeURIComponent(user)}` };
    },
    'DELETE /admin/v1/groups/:name': async () => {
      const name = `doomed-group-${next()}`;
      await s().groups.create(name, TEST_ACTOR);
      return { method: 'DELETE', path: `/groups/${name}` };
    },
    'DELETE /admin/v1/trust/policy/applications/:application': async () => {
      const application = `app${next()}`;
      await s().trustPolicy.set('allow-all', application, TEST_ACTOR);
      return { method: 'DELETE', path: `/trust/policy/applications/${application}` };
    },
    'GET /admin/v1/migrations': async () => ({ method: 'GET', path: '/migrations' }),
    // each step from the state it runs in, as a dry run (2xx, changes nothing)
    'POST /admin/v1/migrations/:legacyId/plan': async () => ({
      method: 'POST',
      path: `/migrations/${await createCertIntegration(server, `Unplanned ${next()}`)}/plan`,
      body: { ws1: ws1Body(), dryRun: true },
    }),
    'POST /admin/v1/migrations/:legacyId/apply': async () => ({
      method: 'POST',
      path: `/migrations/${await legacyAt('planned')}/apply`,
      body: { ws1: ws1Body(), dryRun: true },
    }),
    'POST /admin/v1/migrations/:legacyId/verify': async () => ({
      method: 'POST',
      path: `/migrations/${await legacyAt('applied')}/verify`,
      body: { dryRun: true },
    }),
    'POST /admin/v1/migrations/:legacyId/cutover': async () => ({
      method: 'POST',
      path: `/migrations/${await legacyAt('verified')}/cutover`,
      body: { dryRun: true },
    }),
    'POST /admin/v1/migrations/:legacyId/finalize': async () => ({
      method: 'POST',
      path: `/migrations/${await legacyAt('cut-over')}/finalize`,
      body: { graceDays: 0, dryRun: true },
    }),
    'POST /admin/v1/migrations/:legacyId/rollback': async () => ({
      method: 'POST',
      path: `/migrations/${await legacyAt('planned')}/rollback`,
      body: { dryRun: true },
    }),
  };

  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { Android: 3 }, seed: 3 });
    server = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    for (const role of ROLES) keys[role] = (await s().apiKeys.create(role, TEST_ACTOR, { name: `${role} key` })).key;
    android = (await s().integrations.create({ type: 'android', name: 'Androids', allowLegacy: false }, TEST_ACTOR)).id;
    await s().ws1Settings.configure(
      android,
      { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
      TEST_ACTOR,
    );
    certs = await createCertIntegration(server, 'Legacy iPhones');
    await s().groups.create('pilots', TEST_ACTOR);
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
  });

  it('every admin route declares one permission: the documented one; the test has a call for each', () => {
    const documented = documentedRoutes();
    expect(documented.length, 'routes in the table of docs/integrations.md').to.be.greaterThan(25);
    const key = (r: { method: string; path: string; permission: string }) => `${r.method} ${r.path} ${r.permission}`;
    expect(server.app.adminRoutes.map(key).sort()).to.deep.equal(documented.map(key).sort());
    expect(documented.filter((r) => !CASES[`${r.method} ${r.path}`]).map(key), 'routes without a case in CASES').to.deep.equal([]);
    expect(
      Object.keys(CASES).filter((c) => !documented.some((r) => `${r.method} ${r.path}` === c)),
      'cases for routes that do not exist',
    ).to.deep.equal([]);
  });

  it('every route with every role: 2xx where the documented table grants its permission, 403 everywhere else', async () => {
    const failures: string[] = [];
    const routes = documentedRoutes();
    const grants = documentedGrants();
    expect(routes.length).to.be.greaterThan(25);
    let calls = 0;
    for (const role of ROLES) {
      for (const route of routes) {
        const call = await CASES[`${route.method} ${route.path}`]!();
        const r = await adminApi(server.url, call.method, call.path, keys[role], call.body);
        calls++;
        const allowed = grants.get(route.permission)?.has(role) ?? false;
        const ok = allowed ? r.status >= 200 && r.status < 300 : r.status === 403;
        if (!ok)
          failures.push(
            `${role}: ${route.method} ${route.path} (${route.permission}): ${r.status} ${JSON.stringify(r.body)?.slice(0, 160)}, expected ${allowed ? '2xx' : '403'}`,
          );
      }
    }
    expect(failures).to.deep.equal([]);
    expect(calls).to.equal(routes.length * ROLES.length);
  });

  it('an application manager cannot delete integrations (forced or not), revoke in bulk or change WS1 destinations', async () => {
    const manager = keys['application-manager'];
    const victim = (await s().integrations.create({ type: 'windows', name: 'kept', allowLegacy: false }, TEST_ACTOR)).id;
    for (const p of [`/integrations/${victim}`, `/integrations/${victim}?force=true`, `/integrations/${certs}?force=true`])
      expect((await adminApi(server.url, 'DELETE', p, manager)).status).to.equal(403);
    expect(
      (
        await adminApi(server.url, 'PUT', `/integrations/${android}/ws1`, manager, {
          url: 'https://elsewhere.example',
          username: 'x',
          password: 'y',
          apiKey: 'z',
        })
      ).status,
    ).to.equal(403);
    expect((await s().integrations.show(victim)).id).to.equal(victim);
    expect((await s().ws1Settings.view(android))!.baseUrl).to.equal(sim.url);
  });

  it('an application manager cannot run migration steps: no forced cutover, no finalize (a bulk revocation), no rollback, not even as dry runs', async () => {
    const manager = keys['application-manager'];
    const verified = await legacyAt('verified');
    const cutOver = await legacyAt('cut-over');
    const states = () =>
      s().db.manager.query<{ id: string; state: string }[]>(
        'SELECT legacy_integration_id AS id, state FROM legacy_migrations WHERE legacy_integration_id IN (?, ?) ORDER BY state',
        [verified, cutOver],
      );
    expect(await states()).to.deep.equal([
      { id: cutOver, state: 'cut-over' },
      { id: verified, state: 'verified' },
    ]);
    const attempts: [string, string, unknown][] = [
      [verified, 'cutover', { force: true, minReady: 100 }],
      [verified, 'cutover', { force: true, dryRun: true }],
      [cutOver, 'finalize', { graceDays: 0, force: true }],
      [cutOver, 'finalize', { graceDays: 0 }],
      [cutOver, 'rollback', {}],
      [verified, 'plan', { ws1: ws1Body() }],
    ];
    for (const [id, step, body] of attempts) {
      const r = await adminApi(server.url, 'POST', `/migrations/${id}/${step}`, manager, body);
      expect(r.status, `${step} ${JSON.stringify(body)}`).to.equal(403);
      expect(r.body.message).to.contain('needs migrations:run');
    }
    expect(await states()).to.deep.equal([
      { id: cutOver, state: 'cut-over' },
      { id: verified, state: 'verified' },
    ]);
    expect((await s().integrations.show(cutOver)).id).to.equal(cutOver);
    expect((await s().integrations.show(verified)).status).to.equal('all');
    // an administrator may, with the same body
    expect(
      (await adminApi(server.url, 'POST', `/migrations/${cutOver}/finalize`, keys.administrator, { graceDays: 0, force: true, dryRun: true })).status,
    ).to.equal(200);
  });

  it("the role table in docs/integrations.md is the code's: every permission, every role", () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const header = `| Permission | ${ROLES.map((r) => `\`${r}\``).join(' | ')} | Operations |`;
    expect(doc).to.contain(header);
    expect([...documentedGrants().keys()].sort()).to.deep.equal(Object.keys(PERMISSIONS).sort());
    for (const p of Object.keys(PERMISSIONS) as Permission[]) {
      const row = `| \`${p}\` | ${ROLES.map((r) => (can(r, p) ? 'yes' : 'no')).join(' | ')} |`;
      expect(doc, `docs/integrations.md row for ${p}`).to.contain(row);
    }
  });
});
