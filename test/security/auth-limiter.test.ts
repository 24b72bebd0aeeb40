import { expect } from 'chai';
import http from 'node:http';
import { startIntegrationServer, TEST_ACTOR, type IntegrationServer } from '../integration/integrations-support';
import { nginxAvailable, startNginx, type Nginx } from '../support/nginx';
import { adminApi } from './security-support';

const PROXY = '127.0.0.9'; // nginx's address towards Scepter (proxy_bind): the one trusted proxy
const ATTACKER = '127.0.0.2';
const VICTIM = '127.0.0.3';

/**
 * Threat: an unauthenticated client turns the auth-failure cool-down against everyone. Behind a
 * reverse proxy every request arrives from the proxy's address; ten bad logins must not stop WS1
 * fetching challenges (every enrollment) or admins using the API.
 */
describe('security: the auth-failure limiter cannot be turned against everyone (behind nginx)', function () {
  this.timeout(120_000);
  let server: IntegrationServer;
  let nginx: Nginx;
  let base: string;
  let wsOne: { username: string; password: string };
  let other: { username: string; password: string };
  let key: { key: string; id: string };

  const challenge = (from: string, username: string, password: string, headers: Record<string, string> = {}): Promise<number> =>
    new Promise((resolve, reject) => {
      const auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      const req = http.request(
        `${base}/certsrv/mscep_admin/`,
        { localAddress: from, agent: false, headers: { Authorization: auth, Accept: 'application/json', ...headers } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const whoami = async (from: string, k: string) => (await adminApi(base, 'GET', '/whoami', k, undefined, { from })).status;
  const badKey = (i: number) => `scepter.AKBADBADBADBADB${'AB'[i % 2]}.wrong-${i}`;

  before(async () => {
    if (!nginxAvailable()) throw new Error('nginx is not installed (Debian package nginx; .ci/run installs it)');
    server = await startIntegrationServer({ SCEPTER_TRUSTED_PROXIES: PROXY, SCEPTER_AUTH_MAX_FAILURES: '10', SCEPTER_AUTH_MAX_FAILURES_PER_CREDENTIAL: '30' });
    const s = server.app.services;
    const make = async (name: string) => {
      const v = await s.integrations.create({ type: 'ios-certs', name, allowLegacy: true }, TEST_ACTOR);
      return { username: v.challengeUsername!, password: v.challengePassword! };
    };
    wsOne = await make('WS1 fleet');
    other = await make('Second fleet');
    key = await s.apiKeys.create('administrator', TEST_ACTOR);
    nginx = await startNginx({
      servers: `
        server {
          listen 127.0.0.1:{{PORT}};
          location / {
            proxy_pass ${server.url};
            proxy_bind ${PROXY};
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          }
        }`,
    });
    base = `http://127.0.0.1:${nginx.port}`;
  });
  after(async () => {
    await nginx?.stop();
    await server?.destroy();
  });
  // every test starts with fresh counts: each cool-down is over
  afterEach(() => server.clock.advance(301_000));

  it("ten bad challenge logins from one client block that client only: not another client's challenge fetches, nor the admin API", async () => {
    for (let i = 0; i < 10; i++) expect(await challenge(ATTACKER, wsOne.username, `wrong-${i}`)).to.equal(401);
    expect(await challenge(ATTACKER, wsOne.username, wsOne.password)).to.equal(429);
    expect(await challenge(VICTIM, wsOne.username, wsOne.password)).to.equal(200);
    expect(await whoami(VICTIM, key.key)).to.equal(200);
    // the admin API counts in its own buckets
    expect(await whoami(ATTACKER, key.key)).to.equal(200);
  });

  it("ten bad API keys from one client (one of them the victim key's id) block neither another client's admin API nor any challenge fetch", async () => {
    const wrongSecret = key.key.replace(/\.[^.]+$/, '.not-the-secret');
    for (let i = 0; i < 10; i++) expect(await whoami(ATTACKER, i === 0 ? wrongSecret : badKey(i))).to.equal(401);
    expect(await whoami(ATTACKER, key.key)).to.equal(429);
    expect(await whoami(VICTIM, key.key)).to.equal(200);
    expect(await challenge(VICTIM, other.username, other.password)).to.equal(200);
    expect(await challenge(ATTACKER, other.username, other.password)).to.equal(200);
  });

  it('a forged X-Forwarded-For sent through the proxy does not shift the blame onto another client', async () => {
    for (let i = 0; i < 10; i++) expect(await challenge(ATTACKER, other.username, `wrong-${i}`, { 'X-Forwarded-For': VICTIM })).to.equal(401);
    expect(await challenge(VICTIM, other.username, other.password)).to.equal(200);
    expect(await challenge(ATTACKER, other.username, other.password)).to.equal(429);
  });

  it("one client's success resets nobody else's count", async () => {
    for (let i = 0; i < 9; i++) expect(await challenge(ATTACKER, other.username, `wrong-${i}`)).to.equal(401);
    expect(await challenge(VICTIM, other.username, other.password)).to.equal(200);
    expect(await whoami(VICTIM, key.key)).to.equal(200);
    expect(await challenge(ATTACKER, other.username, 'wrong-again')).to.equal(401);
    expect(await challenge(ATTACKER, other.username, other.password)).to.equal(429);
  });

  it('guessing one credential from many addresses cools that credential down (per-credential bucket), not the others', async () => {
    const s = await server.app.services.integrations.create({ type: 'ios-certs', name: 'Guessed', allowLegacy: true }, TEST_ACTOR);
    // 30 failures from six addresses, five each: no address reaches its own limit of ten
    for (let a = 0; a < 6; a++) for (let i = 0; i < 5; i++) expect(await challenge(`127.0.0.${20 + a}`, s.challengeUsername!, `guess-${a}-${i}`)).to.equal(401);
    expect(await challenge('127.0.0.30', s.challengeUsername!, s.challengePassword!)).to.equal(429);
    expect(await challenge('127.0.0.30', other.username, other.password)).to.equal(200);
  });

  it('the audit log records the real client address behind the proxy', async () => {
    const made = await adminApi(base, 'POST', '/groups', key.key, { name: 'limiter-audit' }, { from: VICTIM });
    expect(made.status).to.equal(201);
    const entries = (await server.app.services.audit.list({ action: 'group.create' })).filter((e) => e.target === 'limiter-audit');
    expect(entries.map((e) => e.from)).to.deep.equal([VICTIM]);
  });
});
