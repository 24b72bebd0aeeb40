// Admin users managed in the web console over HTTP: an owner creates people (password generated
// and shown once, or chosen), changes roles, resets passwords and authenticators, disables and
// deletes; owners and administrators enrol their authenticator (QR code and secret) at the first
// sign-in before anything else; the last enabled owner cannot be demoted, disabled or deleted;
// every change is audited under the acting person's name; a non-owner has no buttons and gets 403.
import { expect } from 'chai';
import { totpCode } from '../../src/admin/totp';
import { Visitor } from '../support/console-visitor';
import { databaseEnv } from '../support/postgres';
import { startTestServer, TestServer } from '../support/test-server';

const CLI = { who: 'cli:test', from: 'cli' };
const OWNER_WHO = 'Olivia Owner <olivia@example.com>';

for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`admin users in the web console (${dialect})`, function () {
    this.timeout(180_000);
    let server: TestServer;
    let drop: (() => Promise<void>) | undefined;
    let owner: Visitor;
    let ownerId: string;
    const svc = () => server.app.services.adminUsers;
    const idOf = async (email: string) => (await svc().list()).find((u) => u.email === email)!.id;
    const audited = async (action: string) => (await server.app.services.audit.list({ action, limit: 100 })).map((e) => ({ who: e.who, target: e.target }));

    before(async () => {
      const { env, drop: dropDatabase } = await databaseEnv(dialect);
      drop = dropDatabase;
      server = await startTestServer(env);
      const o = await svc().create({ name: 'Olivia Owner', email: 'olivia@example.com', role: 'owner' }, CLI, 'cli');
      ownerId = o.user.id;
      owner = new Visitor(server.url);
      expect((await owner.signIn('olivia@example.com', o.password!, totpCode(o.totp!.secret, new Date()))).status).to.equal(302);
    });
    after(async () => {
      await server?.destroy();
      await drop?.();
    });

    it('an owner creates an administrator (password shown once); the administrator enrols an authenticator with a QR code at the first sign-in', async () => {
      const page = await owner.get('/console/users');
      expect(page.text).to.contain('Create admin user');
      const created = await owner.post('/console/users', { _csrf: await owner.csrf(), name: 'Adam Admin', email: 'adam@example.com', role: 'administrator' });
      expect(created.res.status).to.equal(200);
      const password = /id="new-password">([^<]+)</.exec(created.text)![1]!;
      expect(created.text).to.contain('enrols an authenticator app');
      // no secret was made for the owner to see
      expect(created.text).not.to.match(/otpauth:/);
      expect((await audited('admin-user.create')).at(-1)).to.deep.equal({ who: OWNER_WHO, target: await idOf('adam@example.com') });

      const adam = new Visitor(server.url);
      expect((await adam.signIn('adam@example.com', password)).status).to.equal(302);
      // nothing but enrolment until it is done: pages redirect, changes are 403
      const dash = await adam.get('/console');
      expect(dash.res.status).to.equal(302);
      expect(dash.res.headers.get('location')).to.equal('/console/enrol');
      const enrol = await adam.get('/console/enrol');
      expect(enrol.res.status).to.equal(200);
      expect(enrol.text).to.match(/<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="QR code of the authenticator secret"/);
      const svg = Buffer.from(/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(enrol.text)![1]!, 'base64').toString('utf8');
      expect(svg)
        .to.match(/^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
        .and.contain('<path');
      const secret = /name="secret" value="([A-Z2-7]{32})"/.exec(enrol.text)![1]!;
      const csrf = await adam.csrf('/console/enrol');
      expect((await adam.post('/console/policy', { _csrf: csrf, policy: 'off' })).res.status).to.equal(403);
      expect((await adam.post('/console/enrol', { _csrf: csrf, secret, code: '000000' })).res.status).to.equal(400);
      expect((await adam.post('/console/enrol', { _csrf: csrf, secret, code: totpCode(secret, new Date()) })).res.status).to.equal(302);
      expect((await adam.get('/console')).res.status).to.equal(200);
      // from now on a sign-in needs a code
      expect((await new Visitor(server.url).signIn('adam@example.com', password)).status).to.equal(401);
      expect((await audited('admin-user.totp-enrol')).at(-1)).to.deep.equal({ who: 'Adam Admin <adam@example.com>', target: await idOf('adam@example.com') });

      // an administrator sees the list without any button, and the server refuses the changes anyway
      const list = await adam.get('/console/users');
      expect(list.res.status).to.equal(200);
      expect(list.text).not.to.contain('Create admin user').and.not.contain('Change role').and.not.contain('Reset password').and.not.contain('>Delete<');
      const c2 = await adam.csrf();
      for (const [path, fields] of [
        ['/console/users', { name: 'Eve', email: 'eve@example.com', role: 'owner' }],
        [`/console/users/${ownerId}/role`, { role: 'read-only' }],
        [`/console/users/${ownerId}/password`, {}],
        [`/console/users/${ownerId}/totp`, {}],
        [`/console/users/${ownerId}/disable`, {}],
        [`/console/users/${ownerId}/delete`, {}],
      ] as const)
        expect((await adam.post(path, { ...fields, _csrf: c2 })).res.status, path).to.equal(403);
      expect((await svc().list()).map((u) => u.email).sort()).to.deep.equal(['adam@example.com', 'olivia@example.com']);
    });

    it('an owner changes a role, resets a password (chosen or generated) and an authenticator; the person is signed out and re-enrols', async () => {
      const id = await idOf('adam@example.com');
      const adam = new Visitor(server.url);
      await svc().resetPassword(id, 'adam chosen password', CLI, 'cli');
      // a generated password, shown once; the chosen one stops working
      const reset = await owner.post(`/console/users/${id}/password`, { _csrf: await owner.csrf() });
      expect(reset.res.status).to.equal(200);
      const password = /id="reset-password">([^<]+)</.exec(reset.text)![1]!;
      expect((await adam.signIn('adam@example.com', 'adam chosen password', '123456')).status).to.equal(401);
      // the owner's choice
      expect((await owner.post(`/console/users/${id}/password`, { _csrf: await owner.csrf(), password: 'owner chose this one' })).res.status).to.equal(302);
      expect((await adam.signIn('adam@example.com', password, '123456')).status).to.equal(401);
      expect((await audited('admin-user.password-reset')).filter((e) => e.who === OWNER_WHO && e.target === id)).to.have.length(2);

      // the authenticator reset: a sign-in with the password alone leads to enrolment again
      expect((await owner.post(`/console/users/${id}/totp`, { _csrf: await owner.csrf() })).res.status).to.equal(302);
      expect((await svc().get(id)).totpSecret).to.equal(null);
      expect((await adam.signIn('adam@example.com', 'owner chose this one')).status).to.equal(302);
      expect((await adam.get('/console/users')).res.headers.get('location')).to.equal('/console/enrol');
      expect((await audited('admin-user.totp-reset')).at(-1)).to.deep.equal({ who: OWNER_WHO, target: id });

      // a role change: to read-only, no authenticator is needed
      expect((await owner.post(`/console/users/${id}/role`, { _csrf: await owner.csrf(), role: 'read-only' })).res.status).to.equal(302);
      expect((await svc().get(id)).role).to.equal('read-only');
      expect((await adam.get('/console')).res.status).to.equal(200);
      const roleAudit = (await server.app.services.audit.list({ action: 'admin-user.role', limit: 10 })).at(-1)!;
      expect(roleAudit).to.include({ who: OWNER_WHO, target: id });
      expect(roleAudit.details).to.deep.equal({ from: 'administrator', to: 'read-only' });
      // a reset signs the person out everywhere
      expect((await owner.post(`/console/users/${id}/password`, { _csrf: await owner.csrf(), password: 'the next password here' })).res.status).to.equal(302);
      const signedOut = await adam.get('/console');
      expect(signedOut.res.status).to.equal(302);
      expect(signedOut.res.headers.get('location')).to.equal('/console/sign-in');
    });

    it('the last enabled owner cannot be demoted, disabled or deleted; another owner can be', async () => {
      const csrf = await owner.csrf();
      const self = await owner.post(`/console/users/${ownerId}/role`, { _csrf: csrf, role: 'administrator' });
      expect(self.res.status).to.equal(409);
      expect(self.text).to.contain('no enabled owner');
      const fail = (p: Promise<unknown>) =>
        p.then(
          () => undefined,
          (e: Error) => e.message,
        );
      expect(await fail(svc().delete(ownerId, CLI, 'cli'))).to.match(/no enabled owner/);
      expect(await fail(svc().setDisabled(ownerId, true, CLI, 'cli'))).to.match(/no enabled owner/);
      expect((await svc().get(ownerId)).role).to.equal('owner');

      // a second owner (password chosen by the owner): now either may be demoted, one at a time
      const made = await owner.post('/console/users', {
        _csrf: csrf,
        name: 'Otto Owner',
        email: 'otto@example.com',
        role: 'owner',
        password: 'otto initial password',
      });
      expect(made.res.status).to.equal(200);
      expect(made.text).not.to.contain('id="new-password"');
      const otto = await idOf('otto@example.com');
      // two owners demoting each other at once: one of them stays owner
      const race = await Promise.allSettled([svc().changeRole(ownerId, 'administrator', CLI, 'cli'), svc().changeRole(otto, 'administrator', CLI, 'cli')]);
      expect(race.filter((r) => r.status === 'rejected')).to.have.length(1);
      expect((await svc().list()).filter((u) => u.role === 'owner')).to.have.length(1);
      await svc().changeRole(ownerId, 'owner', CLI, 'cli');
      await svc().changeRole(otto, 'owner', CLI, 'cli');
      // disabled, Otto does not count: the sole enabled owner still cannot step down
      expect((await owner.post(`/console/users/${otto}/disable`, { _csrf: csrf })).res.status).to.equal(302);
      expect((await owner.post(`/console/users/${ownerId}/role`, { _csrf: csrf, role: 'administrator' })).res.status).to.equal(409);
      expect((await owner.post(`/console/users/${otto}/enable`, { _csrf: csrf })).res.status).to.equal(302);
      expect((await owner.post(`/console/users/${otto}/role`, { _csrf: csrf, role: 'application-manager' })).res.status).to.equal(302);
      expect((await owner.post(`/console/users/${otto}/delete`, { _csrf: csrf })).res.status).to.equal(302);
      expect(await svc().list()).to.have.length(2);
      expect((await audited('admin-user.delete')).at(-1)).to.deep.equal({ who: OWNER_WHO, target: otto });
      // nobody deletes or resets themself from the users page
      expect((await owner.post(`/console/users/${ownerId}/delete`, { _csrf: csrf })).res.status).to.equal(409);
      expect((await owner.post(`/console/users/${ownerId}/password`, { _csrf: csrf })).res.status).to.equal(409);
    });
  });
