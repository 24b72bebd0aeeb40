// The web console's sign-in and session controls over plain HTTP (no browser needed): memory-hard
// password hashes, TOTP required for owners and administrators and accepted once, the auth-failure
// limiter, sessions stored hashed in HttpOnly SameSite=Strict cookies (Secure when configured),
// CSRF on every change, a strict CSP, roles enforced on the server, changes audited under the
// person's name, self-service password and authenticator changes, /console only on the admin listener.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { totpCode } from '../../src/admin/totp';
import { CONSOLE_CSP } from '../../src/http/console/console.routes';
import { Visitor } from '../support/console-visitor';
import { startTestServer, TestServer } from '../support/test-server';

const CLI = { who: 'cli:test', from: 'cli' };
const NEXT_STEP = 30_000;

describe('security: web console sign-in, sessions, CSRF and roles', function () {
  this.timeout(180_000);
  let server: TestServer;
  let owner: { password: string; totp: { secret: string }; user: { id: string } };
  const code = () => totpCode(owner.totp.secret, new Date());

  before(async () => {
    server = await startTestServer({ SCEPTER_AUTH_MAX_FAILURES: '4' });
    owner = (await server.app.services.adminUsers.create({ name: 'Olivia Owner', email: 'Olivia@Example.com', role: 'owner' }, CLI, 'cli')) as typeof owner;
  });
  after(async () => server.destroy());

  it('stores a scrypt hash (N=2^16, r=8, p=2) and a sealed TOTP secret, never the password or the secret', async () => {
    const [row] = await server.app.services.db.manager.query('SELECT email, password_hash, totp_secret FROM admin_users');
    expect(row.email).to.equal('olivia@example.com');
    expect(row.password_hash).to.match(/^scrypt\$65536\$8\$2\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(row.totp_secret).to.match(/^v1\./).and.not.contain(owner.totp.secret);
    expect(JSON.stringify(row)).not.to.contain(owner.password);
  });

  it('an owner needs the TOTP code; a wrong or reused code is refused; the session is stored hashed', async () => {
    const v = new Visitor(server.url);
    expect((await v.signIn('olivia@example.com', owner.password)).status).to.equal(401);
    expect((await v.signIn('olivia@example.com', owner.password, '000000')).status).to.equal(401);
    const good = code();
    const ok = await v.signIn('olivia@example.com', owner.password, good);
    expect(ok.status).to.equal(302);
    expect(ok.headers.get('location')).to.equal('/console');
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('scepter-session='))!;
    expect(cookie).to.match(/; Path=\/console; HttpOnly; SameSite=Strict$/); // plain http: no Secure
    const token = v.cookies.get('scepter-session')!;
    const rows = await server.app.services.db.manager.query('SELECT token_hash FROM admin_sessions');
    expect(rows.map((r: { token_hash: string }) => r.token_hash)).to.include(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.to.contain(token);
    // the same code again (another browser): refused, it was used
    expect((await new Visitor(server.url).signIn('olivia@example.com', owner.password, good)).status).to.equal(401);
    const { res, text } = await v.get('/console');
    expect(res.status).to.equal(200);
    expect(text).to.contain('Olivia Owner');
  });

  it('every console answer carries the strict CSP (no inline script or style), framing refused', async () => {
    const v = new Visitor(server.url);
    for (const path of ['/console/sign-in', '/console/assets/console.js', '/console/nope']) {
      const { res } = await v.get(path);
      expect(res.headers.get('content-security-policy'), path).to.equal(CONSOLE_CSP);
      expect(res.headers.get('x-frame-options'), path).to.equal('DENY');
    }
    expect(CONSOLE_CSP).to.contain("script-src 'self'").and.contain("style-src 'self'").and.not.contain('unsafe');
    const { text } = await v.get('/console/sign-in');
    expect(text).not.to.match(/<script>|<style>| style="| on[a-z]+="/);
  });

  it("refuses a change without the CSRF token, or with another session's; accepts it with its own", async () => {
    const a = new Visitor(server.url);
    await new Promise((r) => setTimeout(r, NEXT_STEP - (Date.now() % NEXT_STEP) + 50)); // a fresh TOTP step
    expect((await a.signIn('olivia@example.com', owner.password, code())).status).to.equal(302);
    const before = await server.app.services.trustPolicy.show();
    expect((await a.post('/console/policy', { policy: 'require-trusted' })).res.status).to.equal(403);
    expect((await a.post('/console/policy', { policy: 'require-trusted', _csrf: 'x'.repeat(43) })).res.status).to.equal(403);
    expect((await a.post('/console/policy', { policy: 'require-trusted' }, { 'X-CSRF-Token': 'wrong' })).res.status).to.equal(403);
    expect(await server.app.services.trustPolicy.show()).to.deep.equal(before);
    const ok = await a.post('/console/policy', { policy: 'require-trusted', _csrf: await a.csrf() });
    expect(ok.res.status).to.equal(302);
    expect((await server.app.services.trustPolicy.show()).global).to.equal('require-trusted');
    // the per-application form left blank is refused, not taken for the global policy
    const blank = await a.post('/console/policy', { policy: 'allow-all', application: '   ', _csrf: await a.csrf() });
    expect(blank.res.status).to.equal(400);
    expect((await server.app.services.trustPolicy.show()).global).to.equal('require-trusted');
    // the sign-in form has its own token (a cookie and a field): without them, 403
    const res = await fetch(`${server.url}/console/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ email: 'olivia@example.com', password: owner.password }),
    });
    expect(res.status).to.equal(403);
    // the change is audited under the person's name and address
    const entries = await server.app.services.audit.list({ action: 'trust.policy.set' });
    expect(entries.at(-1)).to.include({ who: 'Olivia Owner <olivia@example.com>', from: '127.0.0.1' });
  });

  it('a read-only person reads pages but every change is 403, also with a valid CSRF token; admin pages are 403', async () => {
    await server.app.services.adminUsers.create(
      { name: 'Rita Reader', email: 'rita@example.com', role: 'read-only', password: 'read only password' },
      CLI,
      'cli',
    );
    const v = new Visitor(server.url);
    expect((await v.signIn('rita@example.com', 'read only password')).status).to.equal(302);
    const i = await server.app.services.integrations.create({ type: 'ios', name: 'Phones <b>bold</b>' }, CLI);
    const page = await v.get(`/console/integrations/${i.id}`);
    expect(page.res.status).to.equal(200);
    expect(page.text).to.contain('Phones &lt;b&gt;bold&lt;/b&gt;').and.not.contain('<b>bold</b>');
    expect(page.text).not.to.contain('Set status');
    const csrf = await v.csrf();
    for (const [path, fields] of [
      [`/console/integrations/${i.id}/status`, { status: 'all' }],
      ['/console/integrations', { type: 'ios', name: 'x' }],
      ['/console/policy', { policy: 'off' }],
      [`/console/integrations/${i.id}/delete`, { confirm: i.id }],
    ] as const) {
      expect((await v.post(path, { ...fields, _csrf: csrf })).res.status, path).to.equal(403);
    }
    for (const path of ['/console/users', '/console/api-keys', `/console/integrations/${i.id}/delete`])
      expect((await v.get(path)).res.status, path).to.equal(403);
    expect((await server.app.services.integrations.show(i.id)).status).to.equal('disabled');
  });

  it('self-service: a new password (the old one stops working, other sessions end) and a new authenticator', async () => {
    await server.app.services.adminUsers.create(
      { name: 'Sam Self', email: 'sam@example.com', role: 'application-manager', password: 'first password here' },
      CLI,
      'cli',
    );
    const at = (_n: number) => new Visitor(server.url);
    const a = at(3);
    const b = at(4);
    expect((await a.signIn('sam@example.com', 'first password here')).status).to.equal(302);
    expect((await b.signIn('sam@example.com', 'first password here')).status).to.equal(302);
    expect((await a.post('/console/account/password', { _csrf: await a.csrf(), current: 'wrong', next: 'second password here' })).res.status).to.equal(400);
    expect((await a.post('/console/account/password', { _csrf: await a.csrf(), current: 'first password here', next: 'short' })).res.status).to.equal(400);
    expect(
      (await a.post('/console/account/password', { _csrf: await a.csrf(), current: 'first password here', next: ' second password here ' })).res.status,
    ).to.equal(302);
    expect((await b.get('/console')).res.status, 'the other session').to.equal(302);
    expect((await a.get('/console')).res.status, 'this session').to.equal(200);
    expect((await at(5).signIn('sam@example.com', 'first password here')).status).to.equal(401);
    // a new authenticator: the page proposes a secret; a code from it (and the password) saves it
    const account = (await a.get('/console/account')).text;
    const secret = /name="secret"\s+value="([A-Z2-7]{32})"/.exec(account)![1]!;
    const bad = await a.post('/console/account/totp', { _csrf: await a.csrf(), current: ' second password here ', secret, code: '123456' });
    expect(bad.res.status).to.equal(400);
    const good = await a.post('/console/account/totp', {
      _csrf: await a.csrf(),
      current: ' second password here ',
      secret,
      code: totpCode(secret, new Date()),
    });
    expect(good.res.status).to.equal(302);
    // from now on the code is required
    expect((await at(6).signIn('sam@example.com', ' second password here ')).status).to.equal(401);
    const actions = (await server.app.services.audit.list({ limit: 1000 })).filter((e) => e.who === 'Sam Self <sam@example.com>').map((e) => e.action);
    expect(actions).to.include.members(['admin-user.password', 'admin-user.totp']);
  });

  it('counts failed sign-ins in the auth-failure limiter: 429 once over, even with the right password', async () => {
    const v = new Visitor(server.url);
    await server.app.services.adminUsers.create(
      { name: 'Lim Ited', email: 'limited@example.com', role: 'read-only', password: 'correct horse battery' },
      CLI,
      'cli',
    );
    // a success first: it clears this address's earlier failures (other tests' refusals)
    expect((await v.signIn('limited@example.com', 'correct horse battery')).status).to.equal(302);
    for (let i = 0; i < 4; i++) expect((await v.signIn('limited@example.com', `wrong password ${i}`)).status).to.equal(401);
    const r = await v.signIn('limited@example.com', 'correct horse battery');
    expect(r.status).to.equal(429);
    expect(Number(r.headers.get('retry-after'))).to.be.greaterThan(0);
  });

  it('scepter admin create-user refuses a duplicate email and a bad role; owners get a TOTP secret, read-only not', async () => {
    const s = server.app.services.adminUsers;
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: Error) => e,
      );
    expect((await failure(s.create({ name: 'Dup', email: 'OLIVIA@example.com', role: 'read-only' }, CLI, 'cli')))?.message).to.match(/exists/);
    const ro = await s.create({ name: 'Nora', email: 'nora@example.com', role: 'read-only' }, CLI, 'cli');
    expect(ro.totp).to.equal(undefined);
    const adm = await s.create({ name: 'Adam', email: 'adam@example.com', role: 'administrator' }, CLI, 'cli');
    expect(adm.totp?.uri).to.match(/^otpauth:\/\/totp\//);
    // an administrator may not create an owner
    expect((await failure(s.create({ name: 'Eve', email: 'eve@example.com', role: 'owner' }, CLI, 'administrator')))?.message).to.match(/only an owner/);
  });
});

describe('security: the console with an admin listener and Secure cookies', function () {
  this.timeout(120_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SCEPTER_ADMIN_PORT: '0', SCEPTER_CONSOLE_SECURE_COOKIES: 'on' });
    await server.app.services.adminUsers.create({ name: 'Rita', email: 'rita@example.com', role: 'read-only', password: 'read only password' }, CLI, 'cli');
  });
  after(async () => server.destroy());

  it('serves /console on the admin listener only, with Secure cookies', async () => {
    expect((await fetch(`${server.url}/console/sign-in`)).status).to.equal(404);
    const admin = `http://127.0.0.1:${server.app.adminPort()}`;
    const v = new Visitor(admin);
    const r = await v.signIn('rita@example.com', 'read only password');
    expect(r.status).to.equal(302);
    expect(r.headers.getSetCookie().find((c) => c.startsWith('scepter-session='))).to.match(/; Secure/);
  });
});
