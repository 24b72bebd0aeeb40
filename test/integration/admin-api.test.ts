import { expect } from 'chai';
import http from 'node:http';
import { Role } from '../../src/admin/roles';
import { IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';

interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  raw: Buffer;
}

describe('admin API /admin/v1 (API keys, roles, audit log)', function () {
  let server: IntegrationServer;
  const keys = {} as Record<Role, { key: string; id: string }>;

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_AUTH_MAX_FAILURES: '4' });
    for (const role of ['owner', 'administrator', 'application-manager', 'read-only'] as Role[])
      keys[role] = await server.app.services.apiKeys.create(role, TEST_ACTOR);
  });
  after(async () => server.destroy());

  const api = (
    method: string,
    path: string,
    opts: { key?: string; body?: unknown; from?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> =>
    new Promise((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      const headers: Record<string, string> = {
        ...(opts.key ? { Authorization: `Bearer ${opts.key}` } : {}),
        ...(payload ? { 'Content-Type': 'application/json' } : {}),
        ...opts.headers,
      };
      const req = http.request(`${server.url}/admin/v1${path}`, { method, headers, localAddress: opts.from, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          let body: unknown;
          try {
            body = raw.length ? JSON.parse(raw.toString()) : undefined;
          } catch {
            body = raw.toString();
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, raw });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });

  it('401 with WWW-Authenticate: Bearer without a key, with a bad or malformed key (JSON errors)', async () => {
    const none = await api('GET', '/integrations');
    expect(none.status).to.equal(401);
    expect(none.headers['www-authenticate']).to.match(/^Bearer realm="scepter-admin"/);
    expect(none.body).to.deep.equal({ error: 'unauthorized', message: 'an API key is required (Authorization: Bearer <key>)' });
    const forged = keys['read-only'].key.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    for (const key of [forged, 'scepter.AKNOSUCHKEY2345678.x', 'garbage']) {
      const r = await api('GET', '/integrations', { key, from: '127.0.0.7' });
      expect(r.status).to.equal(401);
      expect(r.headers['www-authenticate']).to.contain('error="invalid_token"');
    }
  });

  it('429 for an address after repeated bad keys, even with a good one', async () => {
    const from = '127.0.0.8';
    for (let i = 0; i < 4; i++) expect((await api('GET', '/whoami', { key: `scepter.AKBADBADBADBADBA.${i}`, from })).status).to.equal(401);
    const r = await api('GET', '/whoami', { key: keys.owner.key, from });
    expect(r.status).to.equal(429);
    expect(r.headers['retry-after']).to.match(/^\d+$/);
  });

  it('read-only may read but not create an integration (403)', async () => {
    expect((await api('GET', '/whoami', { key: keys['read-only'].key })).body).to.deep.equal({ keyId: keys['read-only'].id, role: 'read-only' });
    expect((await api('GET', '/integrations', { key: keys['read-only'].key })).status).to.equal(200);
    const r = await api('POST', '/integrations', { key: keys['read-only'].key, body: { type: 'windows', name: 'W' } });
    expect(r.status).to.equal(403);
    expect(r.body.error).to.equal('forbidden');
  });

  it('application-manager manages integrations: create (ios-certs needs allowLegacy), show, status, rotate, profile', async () => {
    const key = keys['application-manager'].key;
    const refused = await api('POST', '/integrations', { key, body: { type: 'ios-certs', name: 'Legacy' } });
    expect(refused.status).to.equal(400);
    expect(refused.body.message).to.contain('end of life').and.contain('7 October 2024');
    const created = await api('POST', '/integrations', { key, body: { type: 'ios-certs', name: 'Legacy', allowLegacy: true } });
    expect(created.status).to.equal(201);
    const v = created.body;
    expect(v).to.include({
      type: 'ios-certs',
      name: 'Legacy',
      status: 'disabled',
      scepUrl: `${server.url}/scep/${v.id}`,
      challengeUrl: `${server.url}/certsrv/mscep_admin/`,
      subjectName: `CN={DeviceUid},OU=${v.id}`,
    });
    expect(v.challengeUsername).to.match(/^ndes-/);
    expect(v.challengePassword).to.be.a('string').with.length.above(20);
    const shown = await api('GET', `/integrations/${v.id}`, { key });
    expect(shown.body).to.not.have.property('challengePassword');
    expect(shown.body.ws1.certificateAuthority).to.include({
      authorityType: 'Microsoft ADCS',
      protocol: 'SCEP',
      version: 'NDES 2008/2012',
      challengeType: 'Dynamic',
      challengePassword: null,
    });
    expect((await api('PUT', `/integrations/${v.id}/status`, { key, body: { status: 'all' } })).body.status).to.equal('all');
    const rotated = await api('POST', `/integrations/${v.id}/rotate-challenge-credentials`, { key });
    expect(rotated.body.challengePassword).to.be.a('string').and.not.equal(v.challengePassword);
    const profile = await api('POST', `/integrations/${v.id}/profile`, { key, body: { deviceUid: 'API-UDID-0000000000000001' } });
    expect(profile.status).to.equal(200);
    expect(profile.headers['content-type']).to.equal('application/x-apple-aspen-config');
    expect(profile.raw.toString()).to.contain('<string>com.apple.security.scep</string>').and.contain('<string>API-UDID-0000000000000001</string>');
    const win = await api('POST', '/integrations', { key, body: { type: 'windows', name: 'Windows' } });
    expect(win.status).to.equal(201);
    expect(win.body).to.not.have.property('scepUrl');
    expect((await api('POST', `/integrations/${win.body.id}/rotate-challenge-credentials`, { key })).status).to.equal(409);
    expect((await api('GET', '/integrations/DINOSUCHINTEGRATION1', { key })).status).to.equal(404);
    // but not groups, keys or the audit log
    expect((await api('POST', '/groups', { key, body: { name: 'pilots' } })).status).to.equal(403);
    expect((await api('POST', '/api-keys', { key, body: { role: 'read-only' } })).status).to.equal(403);
    expect((await api('GET', '/audit', { key })).status).to.equal(403);
  });

  it('rejects bad input with 400: unknown type, empty name, non-JSON body, status without group', async () => {
    const key = keys.administrator.key;
    expect((await api('POST', '/integrations', { key, body: { type: 'blackberry', name: 'x' } })).status).to.equal(400);
    expect((await api('POST', '/integrations', { key, body: { type: 'ios', name: ' ' } })).status).to.equal(400);
    expect((await api('POST', '/integrations', { key, body: 'not json' })).status).to.equal(400);
    const ios = (await api('POST', '/integrations', { key, body: { type: 'ios', name: 'App Config' } })).body;
    expect((await api('PUT', `/integrations/${ios.id}/status`, { key, body: { status: 'test-group' } })).status).to.equal(400);
    expect((await api('PUT', `/integrations/${ios.id}/status`, { key, body: { status: 'test-group', group: 'nobody' } })).status).to.equal(404);
  });

  it('administrator manages groups and test-group status, keys but not owner keys', async () => {
    const key = keys.administrator.key;
    expect((await api('POST', '/groups', { key, body: { name: 'pilots' } })).status).to.equal(201);
    expect((await api('POST', '/groups', { key, body: { name: 'pilots' } })).status).to.equal(409);
    const added = await api('POST', '/groups/pilots/members', { key, body: { user: 'alice@example.com' } });
    expect(added.body).to.include({ name: 'pilots', added: true });
    expect(added.body.members).to.deep.equal(['alice@example.com']);
    const ios = (await api('POST', '/integrations', { key, body: { type: 'ios', name: 'Pilot' } })).body;
    const st = await api('PUT', `/integrations/${ios.id}/status`, { key, body: { status: 'test-group', group: 'pilots' } });
    expect(st.body).to.include({ status: 'test-group', group: 'pilots' });
    expect(await server.app.services.integrations.isActiveFor(ios.id, 'alice@example.com')).to.equal(true);
    expect(await server.app.services.integrations.isActiveFor(ios.id, 'bob@example.com')).to.equal(false);
    expect((await api('POST', '/api-keys', { key, body: { role: 'owner' } })).status).to.equal(403);
    const made = await api('POST', '/api-keys', { key, body: { role: 'read-only' } });
    expect(made.status).to.equal(201);
    expect(Object.keys(made.body).sort()).to.deep.equal(['expiresAt', 'id', 'key', 'name', 'role']);
    expect((await api('GET', '/whoami', { key: made.body.key })).status).to.equal(200);
    expect((await api('DELETE', `/api-keys/${keys.owner.id}`, { key })).status).to.equal(403);
    expect((await api('DELETE', `/api-keys/${made.body.id}`, { key })).status).to.equal(204);
    expect((await api('GET', '/whoami', { key: made.body.key })).status).to.equal(401);
    const list = await api('GET', '/api-keys', { key });
    expect(JSON.stringify(list.body)).to.not.contain(made.body.key.split('.')[2]);
  });

  it('owner may create owner keys', async () => {
    const r = await api('POST', '/api-keys', { key: keys.owner.key, body: { role: 'owner' } });
    expect(r.status).to.equal(201);
    expect(r.body.key).to.match(/^scepter\.AK[A-Z2-9]{14}\.[A-Za-z0-9_-]{43}$/);
  });

  it('records every change in the audit log: who (key id), what, target, from where (address)', async () => {
    const r = await api('GET', '/audit?limit=200', { key: keys['read-only'].key });
    expect(r.status).to.equal(200);
    const entries: { who: string; from: string; action: string; target: string | null; at: string; details: Record<string, unknown> | null }[] = r.body.entries;
    const create = entries.find((e) => e.action === 'integration.create' && e.details?.name === 'Legacy');
    expect(create).to.include({ who: keys['application-manager'].id });
    expect(create!.from).to.match(/127\.0\.0\.1$/);
    expect(Date.parse(create!.at)).to.be.closeTo(Date.now(), 60_000);
    const actions = entries.filter((e) => e.who !== 'test').map((e) => e.action);
    for (const a of [
      'integration.create',
      'integration.status',
      'integration.rotate-challenge-credentials',
      'integration.profile',
      'group.create',
      'group.add-member',
      'api-key.create',
      'api-key.revoke',
    ])
      expect(actions).to.include(a);
    // refused and read-only requests change nothing and are not logged as changes
    expect(entries.filter((e) => e.action === 'integration.create' && e.who === keys['read-only'].id)).to.have.length(0);
    // no secrets in the log
    const text = JSON.stringify(entries);
    for (const k of Object.values(keys)) expect(text).to.not.contain(k.key.split('.')[2]);
    const filtered = await api('GET', '/audit?action=group.create', { key: keys.owner.key });
    expect(filtered.body.entries.map((e: { action: string }) => e.action)).to.deep.equal(['group.create']);
  });

  it('refuses names with bidi or invisible formatting characters (400, nothing created), and a test group that is not a string', async () => {
    const key = keys.administrator.key;
    const names = async () => JSON.stringify([(await api('GET', '/integrations', { key })).body, (await api('GET', '/groups', { key })).body]);
    const before = await names();
    for (const name of ['Payroll\u202Egnp.exe', 'pay\u200Broll', '\u2066Payroll\u2069', 'Payroll\uFFFF']) {
      for (const [path, body] of [
        ['/integrations', { type: 'ios', name }],
        ['/groups', { name }],
      ] as const) {
        const r = await api('POST', path, { key, body });
        expect(r.status, `${path} ${JSON.stringify(name)}`).to.equal(400);
        expect(r.body.message).to.match(/^(group )?name contains control or invisible formatting characters$/);
      }
    }
    expect(await names()).to.equal(before);
    const ios = (await api('POST', '/integrations', { key, body: { type: 'ios', name: 'Zoë می\u200cخواهم 東京' } })).body;
    expect(ios.name).to.equal('Zoë می\u200cخواهم 東京');
    expect((await api('PUT', `/integrations/${ios.id}/name`, { key, body: { name: 'x\u202Ey' } })).status).to.equal(400);
    const member = await api('POST', '/groups/pilots/members', { key, body: { user: 'alice\u200B@example.com' } });
    expect([member.status, member.body.message]).to.deep.equal([400, 'user name contains control or invisible formatting characters']);
    for (const group of [{ name: 'pilots' }, ['pilots'], 0, false]) {
      const r = await api('PUT', `/integrations/${ios.id}/status`, { key, body: { status: 'test-group', group } });
      expect([r.status, r.body.message], JSON.stringify(group)).to.deep.equal([400, 'group must be a group name (a string)']);
    }
    expect((await api('GET', `/integrations/${ios.id}`, { key })).body.status).to.equal(ios.status);
  });

  it('GET /audit: bad paging, a repeated or an unknown parameter is a 400 with the same words as the other lists', async () => {
    const key = keys['read-only'].key;
    for (const [query, message] of [
      ['limit=0', 'limit must be from 1 to 1000'],
      ['limit=1001', 'limit must be from 1 to 1000'],
      ['limit=-5', 'limit must be a whole number'],
      ['limit=abc', 'limit must be a whole number'],
      ['limit=1.5', 'limit must be a whole number'],
      ['limit=', 'limit must be a whole number'],
      ['afterId=abc', 'afterId must be a whole number'],
      ['afterId=-1', 'afterId must be a whole number'],
      ['afterId=99999999999999999999999', 'afterId must be a whole number of at most 15 digits'],
      ['limit=5&limit=6', 'limit may be given once'],
      ['afterid=3', 'unknown parameter afterid'],
    ]) {
      const r = await api('GET', `/audit?${query}`, { key });
      expect(r.status, query).to.equal(400);
      expect(r.body.message, query).to.contain(message);
    }
    // the same words as the certificate list
    expect((await api('GET', '/audit?limit=0', { key })).body.message).to.equal((await api('GET', '/certificates?limit=0', { key })).body.message);
    const all = (await api('GET', '/audit?limit=1000', { key })).body.entries as { id: number }[];
    expect(all.length).to.be.at.least(3);
    expect((await api('GET', '/audit?limit=2', { key })).body.entries).to.have.length(2);
    const after = (await api('GET', `/audit?afterId=${all[0]!.id}&limit=1000`, { key })).body.entries as { id: number }[];
    expect(after.map((e) => e.id)).to.deep.equal(all.slice(1).map((e) => e.id));
    expect((await api('GET', '/audit?afterId=999999999999999', { key })).body.entries).to.deep.equal([]);
    // following the log: each page is the entries right after the last one read, none skipped
    const followed: number[] = [];
    for (let last = all[0]!.id; ;) {
      const page = (await api('GET', `/audit?afterId=${last}&limit=2`, { key })).body.entries as { id: number }[];
      if (page.length === 0) break;
      followed.push(...page.map((e) => e.id));
      last = page[page.length - 1]!.id;
    }
    expect(followed).to.deep.equal(all.slice(1).map((e) => e.id));
  });
});
