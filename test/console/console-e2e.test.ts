// The web console end to end in a real browser (Debian's headless chromium via playwright-core):
// sign in with a TOTP code, create a legacy integration, enroll with scepclient using the
// credentials the page showed, see the device, revoke it and see the trust check refuse it, run a
// migration to cutover and roll it back; a change without the CSRF token is refused; a read-only
// admin sees no change buttons and the server refuses the change anyway.
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { totpCode } from '../../src/admin/totp';
import { pemEncode } from '../../src/pki/der';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { fetchChallenge, IntegrationServer, startIntegrationServer } from '../integration/integrations-support';
import { appleDevice, cli, ok } from '../integration/migration-support';
import { mtlsCheck } from '../integration/trust-support';
import { runScepclient } from '../support/scepclient';
import { checkPage, launchChromium } from './console-browser';

describe('web console in headless chromium', function () {
  this.timeout(300_000);
  let server: IntegrationServer;
  let sim: Ws1Simulator;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let owner: { password: string; totp: { secret: string } };
  let legacy: { id: string; username: string; password: string };
  const devices: Record<string, { certPem: string; keyPem: string; serial: string }> = {};

  before(async () => {
    server = await startIntegrationServer();
    sim = await startWs1Simulator({ inventory: [appleDevice('UDID-CONSOLE-KEEP')] });
    owner = ok(await cli(server, ['--json', 'admin', 'create-user', '--name', 'Olivia Owner', '--email', 'olivia@example.com', '--role', 'owner']));
    browser = await launchChromium();
    ctx = await browser.newContext();
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await ctx.newPage();
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await sim?.close();
    await server?.destroy();
  });

  const go = async (path: string) => {
    const r = await page.goto(`${server.url}${path}`);
    expect(r?.status(), path).to.equal(200);
  };

  it('bootstraps the first owner with the CLI, printed once with the TOTP secret and otpauth URI', () => {
    expect(owner.password).to.be.a('string').with.length.greaterThan(11);
    expect(owner.totp.secret).to.match(/^[A-Z2-7]{32}$/);
    expect((owner as unknown as { totp: { uri: string } }).totp.uri).to.match(/^otpauth:\/\/totp\/Scepter:olivia%40example\.com\?/);
  });

  it('signs in with password and TOTP code, and lands on the dashboard', async () => {
    await page.goto(`${server.url}/console`);
    expect(new URL(page.url()).pathname).to.equal('/console/sign-in');
    await checkPage(page, '01-sign-in');
    await page.fill('#f-email', 'olivia@example.com');
    await page.fill('#f-password', owner.password);
    await page.fill('#f-code', totpCode(owner.totp.secret, new Date()));
    await page.click('button[type=submit]');
    await page.waitForURL(`${server.url}/console`);
    expect(await page.textContent('h1')).to.equal('Dashboard');
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === 'scepter-session')!;
    expect(session).to.include({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    await checkPage(page, '02-dashboard');
  });

  it('creates a legacy integration and shows the values to paste into WS1 once, with working copy buttons', async () => {
    await go('/console/integrations/new');
    await checkPage(page, '03-create-integration');
    await page.fill('#f-name', 'Legacy iPads');
    await page.selectOption('#f-type', 'ios-certs');
    await page.check('#f-allowLegacy');
    await page.click('form.card button[type=submit]');
    await page.waitForSelector('#ca-challenge-password');
    legacy = {
      id: /\/scep\/|mscep\/([A-Z0-9]+)\//.exec((await page.textContent('#ca-scep-url'))!)![1]!,
      username: (await page.textContent('#ca-challenge-username'))!,
      password: (await page.textContent('#ca-challenge-password'))!,
    };
    expect(legacy.id).to.match(/^DI/);
    await page.click('button[data-copy="ca-challenge-password"]');
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(legacy.password);
    await checkPage(page, '04-created-ws1-values');
    // shown once: the integration page has no password
    await go(`/console/integrations/${legacy.id}`);
    // the end-of-life banner shows while a legacy integration remains
    expect(await page.textContent('.banner')).to.contain('end of life');
    expect(await page.locator('#ca-challenge-password').count()).to.equal(0);
    await page.selectOption('#f-status', 'all');
    await page.click('text=Set status');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).to.contain('Status set to all');
    await checkPage(page, '05-integration');
  });

  it('enrolls devices with scepclient using the credentials the page showed, and lists them', async () => {
    for (const udid of ['UDID-CONSOLE-REVOKE', 'UDID-CONSOLE-KEEP']) {
      const challenge = await fetchChallenge(server, { challengeUsername: legacy.username, challengePassword: legacy.password });
      const r = await runScepclient({ url: `${server.url}/certsrv/mscep/${legacy.id}/mscep.dll`, challenge, cn: udid, ou: legacy.id });
      expect(r.ok, r.stderr).to.equal(true);
      const serial = /serial=([0-9A-F]+)/i.exec(
        require('node:child_process').execFileSync('openssl', ['x509', '-noout', '-serial'], { input: r.certPem }).toString(),
      )![1]!;
      devices[udid] = { certPem: r.certPem!, keyPem: r.keyPem, serial };
    }
    await go(`/console/devices?integration=${legacy.id}`);
    const rows = await page.locator('tbody tr').allTextContents();
    expect(rows.join('\n')).to.contain('UDID-CONSOLE-REVOKE').and.to.contain('UDID-CONSOLE-KEEP');
    await checkPage(page, '06-devices');
    await go(`/console/certificates?integration=${legacy.id}&sort=device`);
    expect((await page.locator('tbody tr').allTextContents()).join('\n')).to.contain(devices['UDID-CONSOLE-KEEP']!.serial);
    await checkPage(page, '07-certificates');
  });

  it('revokes a device with a reason; the trust check refuses it from then on', async () => {
    await go('/console/policy');
    await page.selectOption('#f-policy', 'require-trusted');
    await page.click('text=Save global policy');
    await page.waitForSelector('.notice');
    await checkPage(page, '08-policy');
    await server.app.trust.refresh();
    const caPem = pemEncode('CERTIFICATE', server.app.services.authority.caCertificate.der);
    const d = devices['UDID-CONSOLE-REVOKE']!;
    const before = await mtlsCheck(server.app.tlsPort(), caPem, 'user=alice', d);
    expect(before.body, JSON.stringify(before.body)).to.include({ decision: 'allow', trusted: true });
    await go(`/console/devices?integration=${legacy.id}&device=UDID-CONSOLE-REVOKE`);
    await page.selectOption('tbody tr select[name=reason]', 'keyCompromise');
    await page.click('tbody tr button:has-text("Revoke")');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).to.contain('1 certificate(s) revoked (keyCompromise)');
    // back on the same filtered list
    expect(page.url()).to.contain('device=UDID-CONSOLE-REVOKE');
    await server.app.trust.refresh();
    const after = await mtlsCheck(server.app.tlsPort(), caPem, 'user=alice', d);
    expect(after.status).to.equal(403);
    expect(after.body).to.include({ decision: 'deny', reason: 'revoked' });
    // and the audit log names the person
    await go('/console/audit?action=device.revoke');
    expect(await page.textContent('tbody')).to.contain('Olivia Owner <olivia@example.com>');
    await checkPage(page, '09-audit');
    await go('/console/auth-log?user=alice');
    expect(await page.textContent('tbody')).to.contain('revoked');
    await checkPage(page, '10-auth-log');
  });

  it('runs the migration to cutover step by step (preview, then confirm) and rolls it back', async () => {
    const step = async (button: string, fill?: () => Promise<void>) => {
      await go(`/console/migrations/${legacy.id}`);
      const form = page.locator('form.step', { has: page.locator(`button:has-text("${button}")`) });
      if (fill) await fill();
      await form.locator('button').click();
      await page.waitForSelector('h1:has-text("preview")');
      const name = button.split(' ')[0]!.toLowerCase().replace('…', '');
      await checkPage(page, `11-migration-${name}-preview`);
      await page.click('button:has-text("Confirm")');
      await page.waitForSelector('a:has-text("Back to the migration")');
      return (await page.textContent('main'))!;
    };
    const ws1 = async (form: string) => {
      const f = page.locator('form.step', { has: page.locator(`button:has-text("${form}")`) });
      await f.locator('summary').click();
      await f.locator('input[name=ws1Url]').fill(sim.url);
      await f.locator('input[name=ws1Username]').fill(sim.credentials.username);
      await f.locator('input[name=ws1Password]').fill(sim.credentials.password);
      await f.locator('input[name=ws1ApiKey]').fill(sim.credentials.tenantCode);
    };
    await go('/console/migrations');
    await checkPage(page, '11-migrations');
    const planned = await step('Plan (check readiness)…', () => ws1('Plan'));
    expect(planned, planned).to.contain('1 of 1 devices ready');
    await step('Apply (create the App Config integration)…', () => ws1('Apply'));
    await step('Verify…');
    const cut = await step('Cut over…');
    expect(cut).to.contain('cut-over');
    await go(`/console/migrations/${legacy.id}`);
    expect(await page.textContent('.stepper li[aria-current=step]')).to.equal('cut-over');
    expect(await page.locator('svg[role=img]').getAttribute('aria-label')).to.equal('1 of 1 devices ready (100%)');
    const report = page.locator('a[href*="/reports/"][href$=".csv"]').first();
    const download = await (await page.request.get(`${server.url}${await report.getAttribute('href')}`)).text();
    expect(download).to.contain('UDID-CONSOLE-KEEP');
    await checkPage(page, '12-migration-cut-over');
    const back = await step('Roll back…');
    expect(back).to.contain('rolled-back');
    expect((await server.app.services.integrations.show(legacy.id)).status).to.equal('all');
  });

  it('an App Config integration: copy rows, WS1 settings, Test Configuration, Sync now with progress, device search, typed delete', async () => {
    await go('/console/integrations/new');
    await page.fill('#f-name', 'Phones');
    await page.selectOption('#f-type', 'ios');
    await page.click('form.card button[type=submit]');
    await page.waitForSelector('#ac-v0');
    const id = new URL((await page.locator('a:has-text("Go to the integration")').getAttribute('href'))!, server.url).pathname.split('/').pop()!;
    await page.click('button[data-copy="ac-v0"]');
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(await page.textContent('#ac-v0'));
    await checkPage(page, '19-created-app-config');
    await go(`/console/integrations/${id}`);
    await page.fill('#f-url', sim.url);
    await page.fill('#f-username', sim.credentials.username);
    await page.fill('#f-password', sim.credentials.password);
    await page.fill('#f-apiKey', sim.credentials.tenantCode);
    await page.click('button:has-text("Save WS1 settings")');
    await page.waitForSelector('.notice');
    await page.click('button:has-text("Test Configuration")');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).to.contain('Test Configuration: OK');
    await page.click('button:has-text("Sync now")');
    await page.waitForFunction(() => /Sync done/.test(document.getElementById('sync-progress')?.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await page.textContent('#sync-progress')).to.contain('1 managed');
    await checkPage(page, '20-app-config-synced');
    await go(`/console/integrations/${id}?identifier=udid-console-keep`);
    expect(await page.locator('table', { has: page.locator('caption', { hasText: 'Device' }) }).textContent()).to.contain('UDID-CONSOLE-KEEP');
    // the whole synced inventory, across integrations
    await go('/console/inventory');
    expect(await page.textContent('tbody')).to.contain('UDID-CONSOLE-KEEP');
    await checkPage(page, '27-synced-devices');
    await page.click('th a:has-text("UDID")');
    await page.waitForURL(/dir=desc/);
    expect(await page.getAttribute('th[aria-sort]', 'aria-sort')).to.equal('descending');
    await go('/console/inventory?device=no-such-udid');
    expect(await page.textContent('tbody')).to.contain('Nothing to show');
    await go(`/console/integrations/${id}/delete`);
    await page.fill('#f-confirm', 'not-the-id');
    await page.click('button:has-text("Delete and revoke")');
    expect(await page.textContent('.error')).to.contain('type the integration id exactly');
    await go(`/console/integrations/${id}/delete`);
    await page.fill('#f-confirm', id);
    await page.click('button:has-text("Delete and revoke")');
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).to.contain(`Deleted ${id}: 0 certificate(s) revoked`);
  });

  it('refuses a change without the CSRF token (and with a wrong one)', async () => {
    await go('/console/policy');
    const statuses = await page.evaluate(async () => {
      const post = (headers: Record<string, string>) =>
        fetch('/console/policy', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: 'policy=off' }).then(
          (r) => r.status,
        );
      return [await post({}), await post({ 'X-CSRF-Token': 'not-the-token' })];
    });
    expect(statuses).to.deep.equal([403, 403]);
    expect((await server.app.services.trustPolicy.show()).global).to.equal('require-trusted');
  });

  it('the dashboard shows the counts the background job stored, and when they were computed', async () => {
    let text = '';
    for (let i = 0; i < 100; i++) {
      await go('/console');
      text = (await page.textContent('#counted-at'))!;
      if (/Counted/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).to.match(/Counted \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ; recounted every \d+ s by a background job/);
    await checkPage(page, '28-dashboard-counted');
  });

  it('shows API keys, admin users and the account page', async () => {
    for (const [path, name] of [
      ['/console/api-keys', '13-api-keys'],
      ['/console/users', '14-users'],
      ['/console/account', '15-account'],
      ['/console/inventory', '15b-synced-devices'],
      [`/console/integrations/${legacy.id}/delete`, '16-delete'],
      ['/console/integrations', '17-integrations'],
    ] as const) {
      await go(path);
      await checkPage(page, name);
    }
  });

  it('admin users: an owner creates an administrator, who enrols an authenticator from a QR code at the first sign-in; role, resets, disable, delete', async () => {
    await go('/console/users');
    await page.fill('#f-name', 'Adam Admin');
    await page.fill('#f-email', 'adam@example.com');
    await page.selectOption('#f-role', 'administrator');
    await page.click('button:has-text("Create admin user")');
    const password = (await page.textContent('#new-password'))!;
    expect(await page.textContent('main')).to.contain('enrols an authenticator app');
    await checkPage(page, '21-user-created');

    const other = await browser.newContext();
    const adam = await other.newPage();
    adam.on('dialog', (dlg) => void dlg.accept());
    try {
      await adam.goto(`${server.url}/console/sign-in`);
      await adam.fill('#f-email', 'adam@example.com');
      await adam.fill('#f-password', password);
      await adam.click('button[type=submit]');
      // nothing but enrolment until it is done
      await adam.waitForURL(`${server.url}/console/enrol`);
      await adam.goto(`${server.url}/console/devices`);
      expect(new URL(adam.url()).pathname).to.equal('/console/enrol');
      // the QR code is an image made on the server, shown under the console's CSP (img-src data:)
      const qr = adam.locator('img[alt="QR code of the authenticator secret"]');
      expect(await qr.getAttribute('src')).to.match(/^data:image\/svg\+xml;base64,/);
      expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).to.equal(true);
      const secret = (await adam.textContent('#totp-secret'))!;
      expect(secret).to.match(/^[A-Z2-7]{32}$/);
      await checkPage(adam, '22-enrol');
      await adam.fill('#f-code', totpCode(secret, new Date()));
      await adam.click('button:has-text("Save authenticator")');
      await adam.waitForURL(`${server.url}/console`);
      expect(await adam.textContent('.notice')).to.contain('Authenticator saved');
      // an administrator sees the admin users but no change button
      await adam.goto(`${server.url}/console/users`);
      expect(await adam.locator('main form[method=post]').count()).to.equal(0);
      expect(await adam.locator('text=Only an owner creates').count()).to.equal(1);
      await checkPage(adam, '23-users-as-administrator');
    } finally {
      await other.close();
    }

    // the owner's buttons on Adam's row (each asks first; the dialog is accepted)
    await go('/console/users');
    const row = () => page.locator('tbody tr', { hasText: 'adam@example.com' });
    expect(await row().textContent()).to.contain('TOTP');
    await checkPage(page, '24-users-as-owner');
    await row().locator('select[name=role]').selectOption('application-manager');
    await row().locator('button:has-text("Change role")').click();
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).to.contain('adam@example.com is application-manager');
    await row().locator('button:has-text("Reset password")').click();
    await page.waitForSelector('#reset-password');
    expect(await page.textContent('#reset-password')).to.have.length.greaterThan(11);
    await go('/console/users');
    await row().locator('button:has-text("Reset authenticator")').click();
    await page.waitForSelector('.notice');
    expect(await row().textContent()).to.contain('none');
    await row().locator('button:has-text("Disable")').click();
    await page.waitForSelector('.notice');
    expect(await row().textContent()).to.contain('disabled');
    await row().locator('button:has-text("Delete")').click();
    await page.waitForSelector('.notice');
    expect(await page.textContent('.notice')).to.contain('adam@example.com deleted');
    expect(await row().count()).to.equal(0);
    // the owner's own row has no buttons (the last owner is never demoted or deleted)
    expect(await page.locator('tbody tr', { hasText: 'olivia@example.com' }).locator('form').count()).to.equal(0);
    // each change is in the audit log under the owner's name
    for (const action of [
      'admin-user.create',
      'admin-user.role',
      'admin-user.password-reset',
      'admin-user.totp-reset',
      'admin-user.disable',
      'admin-user.delete',
    ]) {
      await go(`/console/audit?action=${action}`);
      expect(await page.textContent('tbody'), action).to.contain('Olivia Owner <olivia@example.com>');
    }
    await checkPage(page, '25-audit-admin-users');
  });

  it('sorts tables both ways from the column headers, on the server', async () => {
    await go(`/console/certificates?integration=${legacy.id}`);
    await page.click('th a:has-text("Expires")');
    await page.waitForURL(/sort=notAfter/);
    expect(await page.getAttribute('th[aria-sort]', 'aria-sort')).to.equal('ascending');
    const expiries = async () => (await page.locator('tbody tr td:nth-child(5)').allTextContents()).map((t) => t.trim());
    const up = await expiries();
    await page.click('th a:has-text("Expires")');
    await page.waitForURL(/dir=desc/);
    expect(await page.getAttribute('th[aria-sort]', 'aria-sort')).to.equal('descending');
    const down = await expiries();
    expect(up.length).to.be.greaterThan(1);
    expect(down).to.deep.equal([...up].reverse());
    await checkPage(page, '26-certificates-by-expiry-descending');
    await go(`/console/devices?integration=${legacy.id}`);
    await page.click('th a:has-text("Device")');
    await page.waitForURL(/dir=desc/);
    const devices = (await page.locator('tbody tr td:first-child').allTextContents()).map((t) => t.trim());
    expect(devices).to.deep.equal(['UDID-CONSOLE-REVOKE', 'UDID-CONSOLE-KEEP']);
  });

  it('a read-only admin sees no change buttons, and the server refuses the change anyway', async () => {
    await go('/console/users');
    await page.fill('#f-name', 'Rita Reader');
    await page.fill('#f-email', 'rita@example.com');
    await page.selectOption('#f-role', 'read-only');
    await page.click('button:has-text("Create admin user")');
    const password = (await page.textContent('#new-password'))!;
    const other = await browser.newContext();
    const ro = await other.newPage();
    try {
      await ro.goto(`${server.url}/console/sign-in`);
      await ro.fill('#f-email', 'rita@example.com');
      await ro.fill('#f-password', password);
      await ro.click('button[type=submit]');
      await ro.waitForURL(`${server.url}/console`);
      await ro.goto(`${server.url}/console/integrations/${legacy.id}`);
      expect(await ro.locator('main form[method=post]').count(), 'change forms on the integration page').to.equal(0);
      await ro.goto(`${server.url}/console/devices?integration=${legacy.id}`);
      expect(await ro.locator('button:has-text("Revoke")').count()).to.equal(0);
      await ro.goto(`${server.url}/console/integrations`);
      expect(await ro.locator('text=Create integration').count()).to.equal(0);
      await checkPage(ro, '18-read-only-integrations');
      // with its own valid CSRF token: 403, nothing changed
      const status = await ro.evaluate(async (id) => {
        const csrf = document.querySelector('meta[name=csrf-token]')!.getAttribute('content')!;
        const r = await fetch(`/console/integrations/${id}/status`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: `_csrf=${encodeURIComponent(csrf)}&status=disabled`,
        });
        return r.status;
      }, legacy.id);
      expect(status).to.equal(403);
      expect((await server.app.services.integrations.show(legacy.id)).status).to.equal('all');
    } finally {
      await other.close();
    }
  });
});
