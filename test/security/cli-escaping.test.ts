import { expect } from 'chai';
import { escapeText } from '../../src/shared/terminal-text';
import { startIntegrationServer, TEST_ACTOR, type IntegrationServer } from '../integration/integrations-support';
import { cli, json, type CliResult } from '../integration/migration-support';
import { issueForDevice, scratch } from '../integration/revocation-support';

// A device id as a hostile device (or a row in a restored backup or written by another
// tool) could carry it: a line break that forges an output line, a carriage return, ANSI escapes that
// clear the screen and recolour, and a right-to-left override.
const EVIL = 'UDID-1\nFORGED 0 certificates revoked\r\u001b[2J\u001b[31mred\u202Egnp.exe\u009b1m';
const FORGED = /^FORGED/m;

/** The human output shows every unsafe character as a visible escape: no forged line, no control character. */
function expectSafe(r: CliResult, what: string): void {
  const text = r.stdout + r.stderr;
  expect(text, `${what}: forged line`).to.not.match(FORGED);
  expect(text, `${what}: raw control characters`).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  expect(text, `${what}: the escaped id`).to.contain(escapeText(EVIL));
}

/**
 * Threat: user-supplied text (device ids, names, users) forges lines or rewrites the admin's terminal
 * in human-readable CLI output. `--json` must still carry the exact text.
 */
describe('security: device ids and other user text are escaped in CLI output', function () {
  this.timeout(180_000);
  let server: IntegrationServer;
  let integration: string;
  let serial: string;

  before(async () => {
    server = await startIntegrationServer();
    const s = server.app.services;
    integration = (await s.integrations.create({ type: 'ios-certs', name: 'Legacy iPhones', allowLegacy: true }, TEST_ACTOR)).id;
    const files = scratch();
    serial = (await issueForDevice(server as never, files.dir, integration, '00008030-001A2D3C0E88802E')).cert.serialHex;
    // rows as something other than today's validated input paths could have written them
    const q = (sql: string, params: unknown[]) => s.db.transaction((m) => m.query(sql, params));
    await q('UPDATE certificates SET device_id = ?, subject = ? WHERE serial = ?', [EVIL, `CN=${EVIL}`, serial]);
    await q('UPDATE integrations SET name = ? WHERE id = ?', [EVIL, integration]);
    await s.groups.create('pilots', TEST_ACTOR);
    await s.groups.addMember('pilots', 'alice@example.com', TEST_ACTOR);
    await q('UPDATE users SET username = ? WHERE username = ?', [EVIL, 'alice@example.com']);
    // the device-trust check refuses C1 and bidi controls in a user name; a log row written another way keeps them
    const evilUser = 'bob\u202Egnp.exe\u009b1m';
    expect((await fetch(`${server.url}/v1/device-trust?user=${encodeURIComponent(evilUser)}&identifier=x`)).status).to.equal(400);
    const check = await fetch(`${server.url}/v1/device-trust?user=bob-escaping&identifier=x`);
    expect(check.status).to.be.oneOf([200, 403]);
    await server.app.trust.flush();
    await q('UPDATE auth_log SET user_name = ? WHERE user_name = ?', [evilUser, 'bob-escaping']);
  });
  after(async () => server?.destroy());

  it('cert list', async () => {
    const r = await cli(server, ['cert', 'list', '--integration', integration]);
    expect(r.code, r.stderr).to.equal(0);
    expectSafe(r, 'cert list');
    const listed = json(await cli(server, ['cert', 'list', '--integration', integration, '--json'])).certificates;
    expect(listed.map((c: { deviceId: string }) => c.deviceId)).to.deep.equal([EVIL]);
  });

  it('integration list and integration show', async () => {
    for (const args of [
      ['integration', 'list'],
      ['integration', 'show', integration],
    ]) {
      const r = await cli(server, args);
      expect(r.code, r.stderr).to.equal(0);
      expectSafe(r, args.join(' '));
    }
    expect(json(await cli(server, ['integration', 'show', integration, '--json'])).name).to.equal(EVIL);
  });

  it('device show, device revoke, and the audit log of that revocation', async () => {
    const shown = await cli(server, ['device', 'show', EVIL]);
    expect(shown.code, shown.stderr).to.equal(0);
    expectSafe(shown, 'device show');
    expect(json(await cli(server, ['device', 'show', EVIL, '--json'])).device).to.equal(EVIL);
    const revoked = await cli(server, ['device', 'revoke', integration, EVIL]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expectSafe(revoked, 'device revoke');
    const audit = await cli(server, ['audit', '--action', 'device.revoke']);
    expectSafe(audit, 'audit');
    expect(json(await cli(server, ['audit', '--action', 'device.revoke', '--json'])).entries[0].target).to.equal(`${integration}:${EVIL}`);
  });

  it('group show and group list', async () => {
    const r = await cli(server, ['group', 'show', 'pilots']);
    expect(r.code, r.stderr).to.equal(0);
    expectSafe(r, 'group show');
    expect(json(await cli(server, ['group', 'show', 'pilots', '--json'])).members).to.deep.equal([EVIL]);
  });

  it('auth-log: bidi and C1 controls in a user name arrive escaped', async () => {
    const r = await cli(server, ['auth-log']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.not.match(/[\u0080-\u009f\u202a-\u202e]/);
    expect(r.stdout).to.contain('user=bob\\u202egnp.exe\\x9b1m');
    expect(json(await cli(server, ['auth-log', '--json'])).entries.map((e: { user: string }) => e.user)).to.include('bob\u202Egnp.exe\u009b1m');
  });

  it('error messages that quote user text are escaped too', async () => {
    const r = await cli(server, ['device', 'show', `none\nFORGED line\u001b[2J`]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.not.match(FORGED).and.not.contain('\u001b');
    expect(r.stderr).to.contain('none\\nFORGED line\\x1b[2J');
    const j = await cli(server, ['device', 'show', `none\nFORGED line`, '--json']);
    expect(json(j).error).to.contain('none\nFORGED line'.slice(0, 80));
  });

  it('migrate status and the integration delete preview (last: it deletes the integration)', async () => {
    const status = await cli(server, ['migrate', 'status']);
    expect(status.code, status.stderr).to.equal(0);
    expectSafe(status, 'migrate status');
    const deleted = await cli(server, ['integration', 'delete', integration, '--yes', '--force']);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expectSafe(deleted, 'integration delete');
  });

  it('escapeText: visible escapes for C0, DEL, C1, line separators, bidi and zero-width controls; other text unchanged', () => {
    expect(escapeText('a\nb\r\tc\\d')).to.equal('a\\nb\\r\\tc\\\\d');
    expect(escapeText('\u0000\u001b\u007f\u0085\u009b')).to.equal('\\x00\\x1b\\x7f\\x85\\x9b');
    expect(escapeText('\u2028\u2029\u202e\u2066\u200b\ufeff')).to.equal('\\u2028\\u2029\\u202e\\u2066\\u200b\\ufeff');
    expect(escapeText('Zoë 田中 CN=x, O=y 😀')).to.equal('Zoë 田中 CN=x, O=y 😀');
  });
});
