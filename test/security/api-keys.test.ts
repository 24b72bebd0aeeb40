import { expect } from 'chai';
import { startIntegrationServer, TEST_ACTOR, type IntegrationServer } from '../integration/integrations-support';
import { cli, json } from '../integration/migration-support';
import { databaseEnv } from '../support/postgres';
import { adminApi } from './security-support';

const DAY = 86_400_000;

/**
 * Threat: an admin API key that leaked or outlived its purpose stays usable forever, nobody can tell
 * what a key is for or whether it is still used, and a non-owner can act on owner keys.
 */
for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`security: API keys have a name, an optional expiry and a last-used time (${dialect})`, function () {
    this.timeout(120_000);
    let server: IntegrationServer;
    let dropDb: (() => Promise<void>) | undefined;
    let owner: { key: string; id: string };
    let admin: { key: string; id: string };
    const api = (method: string, p: string, key: string, body?: unknown) => adminApi(server.url, method, p, key, body);

    before(async () => {
      const { env, drop } = await databaseEnv(dialect);
      dropDb = drop;
      server = await startIntegrationServer(env);
      owner = await server.app.services.apiKeys.create('owner', TEST_ACTOR, { name: 'break-glass' });
      admin = await server.app.services.apiKeys.create('administrator', TEST_ACTOR);
    });
    after(async () => {
      await server?.destroy();
      await dropDb?.();
    });

    it('CLI: create-key --name --expires; list-keys shows name, expiry and last use (text and JSON)', async () => {
      const made = await cli(server, ['admin', 'create-key', '--role', 'read-only', '--name', 'inventory export', '--expires', '90d', '--json']);
      expect(made.code, made.stderr).to.equal(0);
      const k = json(made);
      expect(k).to.include({ role: 'read-only', name: 'inventory export' });
      expect(Date.parse(k.expiresAt)).to.be.closeTo(Date.now() + 90 * DAY, 10 * 60_000);
      const dated = json(await cli(server, ['admin', 'create-key', '--role', 'read-only', '--name', 'until new year', '--expires', '2099-01-01', '--json']));
      expect(dated.expiresAt).to.equal('2099-01-01T00:00:00.000Z');

      let listed = json(await cli(server, ['admin', 'list-keys', '--json'])).keys.find((x: { id: string }) => x.id === k.id);
      expect(listed).to.include({ name: 'inventory export', lastUsedAt: null, revokedAt: null, expiresAt: k.expiresAt });
      expect((await api('GET', '/whoami', k.key)).status).to.equal(200);
      listed = json(await cli(server, ['admin', 'list-keys', '--json'])).keys.find((x: { id: string }) => x.id === k.id);
      expect(Date.parse(listed.lastUsedAt)).to.be.closeTo(server.clock.now().getTime(), 60_000);
      const text = (await cli(server, ['admin', 'list-keys'])).stdout.split('\n').find((l) => l.startsWith(k.id))!;
      expect(text).to.contain('inventory export').and.contain(`last used ${listed.lastUsedAt}`).and.contain(`expires ${k.expiresAt}`);
    });

    it('CLI: a bad --expires or --name is refused with a clear message and creates nothing', async () => {
      const before = json(await cli(server, ['admin', 'list-keys', '--json'])).keys.length;
      const bad = await cli(server, ['admin', 'create-key', '--role', 'read-only', '--expires', 'soon']);
      expect(bad.code).to.not.equal(0);
      expect(bad.stderr).to.contain('--expires').and.contain('90d');
      const past = await cli(server, ['admin', 'create-key', '--role', 'read-only', '--expires', '2020-01-01']);
      expect(past.code).to.equal(1);
      expect(past.stderr).to.contain('in the future');
      const name = await cli(server, ['admin', 'create-key', '--role', 'read-only', '--name', 'two\nlines']);
      expect(name.code).to.equal(1);
      expect(name.stderr).to.contain('contains control or invisible formatting characters');
      expect(json(await cli(server, ['admin', 'list-keys', '--json'])).keys.length).to.equal(before);
    });

    it('API: a key with expiresAt works until then and is 401 after it; other keys are unaffected', async () => {
      const expiresAt = new Date(server.clock.now().getTime() + 3_600_000).toISOString();
      const r = await api('POST', '/api-keys', admin.key, { role: 'application-manager', name: 'contractor', expiresAt });
      expect(r.status).to.equal(201);
      expect(r.body).to.include({ name: 'contractor', expiresAt });
      expect((await api('GET', '/whoami', r.body.key)).status).to.equal(200);
      server.clock.advance(2 * 3_600_000);
      try {
        const expired = await api('GET', '/integrations', r.body.key);
        expect(expired.status).to.equal(401);
        expect(expired.headers['www-authenticate']).to.contain('invalid_token');
        expect((await api('GET', '/whoami', admin.key)).status).to.equal(200);
        const listed = (await api('GET', '/api-keys', admin.key)).body.keys.find((x: { id: string }) => x.id === r.body.id);
        expect(listed).to.include({ name: 'contractor', expiresAt, revokedAt: null });
      } finally {
        server.clock.advance(-2 * 3_600_000);
      }
    });

    it('API: a bad name or expiry is 400 and creates nothing', async () => {
      const count = async () => (await api('GET', '/api-keys', admin.key)).body.keys.length;
      const before = await count();
      for (const body of [
        { role: 'read-only', expiresAt: 'tomorrow' },
        { role: 'read-only', expiresAt: '2027-01-01' },
        { role: 'read-only', expiresAt: new Date(server.clock.now().getTime() - 1000).toISOString() },
        { role: 'read-only', name: 42 },
        { role: 'read-only', name: 'a\u001b[31mred' },
        { role: 'read-only', name: 'x'.repeat(101) },
      ]) {
        const r = await api('POST', '/api-keys', admin.key, body);
        expect(r.status, JSON.stringify(body)).to.equal(400);
      }
      expect(await count()).to.equal(before);
    });

    it('a non-owner revoking an owner key is 403 with the right reason, and the key keeps working', async () => {
      const r = await api('DELETE', `/api-keys/${owner.id}`, admin.key);
      expect(r.status).to.equal(403);
      expect(r.body.message).to.equal('only an owner may revoke owner keys');
      expect((await api('POST', '/api-keys', admin.key, { role: 'owner' })).body.message).to.equal('only an owner may create owner keys');
      expect((await api('GET', '/whoami', owner.key)).status).to.equal(200);
    });
  });
