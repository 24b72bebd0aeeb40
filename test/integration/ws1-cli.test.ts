import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { startTestServer, type TestServer } from '../support/test-server';
import { capturingLogger, cli, CliResult, json, secretFiles } from '../support/ws1-services';
import { selfSignedCert } from '../support/ws1';

const ACTOR = { who: 'test', from: 'test' };
// distinctive values, so that finding them anywhere is meaningful
const PASSWORD = 'Pw-3f9d1c-never-printed';
const TENANT = 'TENANTCODE7A1B2C3D4E5F60718293A4';

/**
 * The WS1 commands as an admin runs them: `node bin/scepter ...` beside a running server on its
 * database, against the simulator.
 */
describe('WS1 through the CLI: configure, test, sync, search, show', function () {
  this.timeout(120_000);
  let sim: Ws1Simulator;
  let server: TestServer;
  let logs: ReturnType<typeof capturingLogger>;
  let id: string;
  let files: { passwordFile: string; apiKeyFile: string };
  const outputs: CliResult[] = [];
  const run = async (args: string[], opts: Parameters<typeof cli>[2] = {}) => {
    const r = await cli(server, args, opts);
    outputs.push(r);
    return r;
  };
  const configure = (extra: string[] = [], opts: Parameters<typeof cli>[2] = {}) =>
    run(
      [
        'integration',
        'configure',
        id,
        '--ws1-url',
        sim.url,
        '--ws1-username',
        sim.credentials.username,
        '--ws1-password-file',
        files.passwordFile,
        '--ws1-api-key-file',
        files.apiKeyFile,
        ...extra,
      ],
      opts,
    );
  const enrolledApple = () => sim.devices.search('Apple').filter((d) => d.enrollmentStatus === 'Enrolled');

  before(async () => {
    sim = await startWs1Simulator({
      password: PASSWORD,
      tenantCode: TENANT,
      devicesPerPlatform: { Apple: 1234, WinRT: 7 },
      seed: 11,
      accounts: [{ username: 'no-rest', password: PASSWORD, restRead: false }],
    });
    logs = capturingLogger();
    server = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' }, undefined, { logger: logs.logger });
    id = (await server.app.services.integrations.create({ type: 'ios', name: 'iPhones', allowLegacy: false }, ACTOR)).id;
    files = secretFiles(server.dir, PASSWORD, TENANT);
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
  });
  afterEach(() => {
    sim.setFault(null);
    sim.setLatency(0);
  });

  it('configures from secret files; the database holds ciphertext, the key file is private', async () => {
    const r = await configure();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('settings saved').and.contain(sim.url);
    const [row] = await server.app.services.db.manager.query('SELECT * FROM ws1_settings WHERE integration_id = ?', [id]);
    expect(row.password_enc).to.match(/^v1\.[0-9a-f]{8}\./);
    expect(row.api_key_enc).to.match(/^v1\.[0-9a-f]{8}\./);
    expect(JSON.stringify(row)).to.not.contain(PASSWORD).and.not.contain(TENANT);
    const keyFile = path.join(server.env.SCEPTER_CERTS_DIR!, 'secret.key');
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
    // nowhere in the database files either (WAL included). Read by another process: closing a file
    // descriptor of the database in this one would drop SQLite's POSIX locks for the server's connection.
    const files = fs
      .readdirSync(server.dir)
      .filter((n) => n.startsWith('scepter.sqlite'))
      .map((n) => path.join(server.dir, n));
    for (const secret of [PASSWORD, TENANT]) {
      expect(spawnSync('grep', ['-c', '-F', '-a', secret, ...files]).status, secret).to.equal(1); // 1: no line matched
    }
  });

  it('takes a secret from standard input with "-", and refuses secrets on the command line', async () => {
    const r = await configure(['--ws1-password-file', '-'], { input: `${PASSWORD}\n` });
    expect(r.code, r.stderr).to.equal(0);
    const bad = await run(['integration', 'configure', id, '--ws1-password', PASSWORD]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('unknown option');
    outputs.pop(); // commander echoes the unknown option itself: that is the admin's own typing
  });

  it('Test Configuration: success, as text and as JSON', async () => {
    const text = await run(['integration', 'test', id]);
    expect(text.code).to.equal(0);
    expect(text.stdout.trim()).to.equal('Configuration Successful!');
    expect(json(await run(['integration', 'test', id, '--json']))).to.deep.equal({ ok: true, message: 'Configuration Successful!' });
  });

  it('Test Configuration: each failure with its reason and exit code 1', async () => {
    const expectFailure = async (reason: string, setup: () => Promise<CliResult>, env: Record<string, string> = {}) => {
      const configured = await setup();
      expect(configured.code, configured.stdout + configured.stderr).to.equal(0);
      const r = await run(['integration', 'test', id, '--json'], { env });
      expect(r.code, reason).to.equal(1);
      const body = json<{ ok: boolean; reason: string; message: string }>(r);
      expect(body, `${reason}: ${r.stdout}`).to.include({ ok: false, reason });
      return body.message;
    };
    const wrong = path.join(server.dir, 'wrong.txt');
    fs.writeFileSync(wrong, 'not-the-secret\n');
    try {
      expect(await expectFailure('bad-credentials', () => configure(['--ws1-password-file', wrong])))
        .to.contain('username or password')
        .and.contain('1005');
      expect(await expectFailure('bad-tenant-code', () => configure(['--ws1-api-key-file', wrong])))
        .to.contain('API key')
        .and.contain('1013');
      expect(await expectFailure('no-permission', () => configure(['--ws1-username', 'no-rest']))).to.contain('REST API');
      expect(await expectFailure('host-not-found', () => configure(['--ws1-url', 'as9999.ws1-scepter-test.invalid']))).to.contain(
        'as9999.ws1-scepter-test.invalid',
      );
      sim.setFault({ type: 'hang' });
      expect(await expectFailure('timeout', () => configure(), { SCEPTER_WS1_TIMEOUT_SECONDS: '1' })).to.contain('did not answer within 1 s');
    } finally {
      sim.setFault(null);
      expect((await configure()).code).to.equal(0); // good settings again for the tests that follow
    }
  });

  it('Test Configuration: a TLS failure, then success with --ws1-ca-file', async () => {
    const tls = selfSignedCert();
    const tlsSim = await startWs1Simulator({ password: PASSWORD, tenantCode: TENANT, devicesPerPlatform: 2, tls });
    try {
      const caFile = path.join(server.dir, 'ws1-ca.pem');
      fs.writeFileSync(caFile, tls.cert);
      // a new URL needs the secrets again in the same change
      expect((await run(['integration', 'configure', id, '--ws1-url', tlsSim.url])).code).to.equal(1);
      expect(
        (
          await run([
            'integration',
            'configure',
            id,
            '--ws1-url',
            tlsSim.url,
            '--ws1-password-file',
            files.passwordFile,
            '--ws1-api-key-file',
            files.apiKeyFile,
          ])
        ).code,
      ).to.equal(0);
      expect(json(await run(['integration', 'test', id, '--json']))).to.include({ ok: false, reason: 'tls' });
      // so does a new extra CA (it decides who may stand in for WS1)
      expect((await run(['integration', 'configure', id, '--ws1-ca-file', caFile])).code).to.equal(1);
      expect(
        (
          await run([
            'integration',
            'configure',
            id,
            '--ws1-ca-file',
            caFile,
            '--ws1-password-file',
            files.passwordFile,
            '--ws1-api-key-file',
            files.apiKeyFile,
          ])
        ).code,
      ).to.equal(0);
      expect(json(await run(['integration', 'test', id, '--json']))).to.include({ ok: true });
    } finally {
      await tlsSim.close();
      expect((await configure()).code).to.equal(0);
    }
  });

  it('syncs across several pages and keeps only enrolled devices', async () => {
    const r = await run(['integration', 'sync', id, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(json(r)).to.include({ ok: true, pages: 3, fetched: 1234, managed: enrolledApple().length });
    const text = await run(['integration', 'sync', id]);
    expect(text.stdout).to.match(new RegExp(`^Synced ${enrolledApple().length} managed devices \\(1234 fetched on 3 page\\(s\\)\\)`));
  });

  it('searches by UDID, serial, MAC or IMEI, case-insensitively, and answers not found', async () => {
    const d = enrolledApple().find((x) => x.imei !== '')!;
    for (const identifier of [d.udid.toUpperCase(), d.serialNumber.toLowerCase(), d.macAddress.toLowerCase().match(/../g)!.join(':'), d.imei]) {
      const body = json<{ found: boolean; device: Record<string, string>; lastSuccessAt: string }>(await run(['device', 'search', id, identifier, '--json']));
      expect(body.found, identifier).to.equal(true);
      expect(body.device).to.include({
        udid: d.udid,
        serialNumber: d.serialNumber,
        macAddress: d.macAddress,
        imei: d.imei,
        platform: 'Apple',
        enrollmentStatus: 'Enrolled',
        userName: d.userName,
      });
      expect(body.device.syncedAt).to.equal(body.lastSuccessAt);
    }
    const text = await run(['device', 'search', id, d.serialNumber.toLowerCase()]);
    expect(text.stdout).to.contain(`Found in ${id}`).and.contain(d.udid);
    const unenrolled = sim.devices.search('Apple').find((x) => x.enrollmentStatus !== 'Enrolled')!;
    expect(json(await run(['device', 'search', id, unenrolled.udid, '--json']))).to.include({ found: false });
    const missing = await run(['device', 'search', id, 'NO-SUCH-DEVICE']);
    expect(missing.code).to.equal(0);
    expect(missing.stdout).to.contain('Not found');
  });

  it('shows the App Config key, value type and {DeviceUid}, as plist and JSON, and the sync state', async () => {
    const text = await run(['integration', 'show', id]);
    const key = /trustedEndpointConfigurationKey\s+String\s+([A-Z0-9]{20})\b/.exec(text.stdout)?.[1];
    expect(key, text.stdout).to.be.a('string');
    expect(text.stdout).to.match(/trustedEndpointIdentifier\s+String\s+\{DeviceUid\}/);
    expect(text.stdout).to.contain(`<key>trustedEndpointConfigurationKey</key>\n    <string>${key}</string>`);
    expect(text.stdout).to.contain(`"trustedEndpointIdentifier": "{DeviceUid}"`);
    expect(text.stdout)
      .to.match(/Last good sync: \d{4}-/)
      .and.contain(`Devices:        ${enrolledApple().length}`);
    const body = json<{
      appConfig: { configurationKey: string; entries: unknown[]; json: Record<string, string> };
      ws1Api: { settings: Record<string, unknown> };
    }>(await run(['integration', 'show', id, '--json']));
    expect(body.appConfig.configurationKey).to.equal(key); // stable
    expect(body.appConfig.entries).to.deep.equal([
      { key: 'trustedEndpointConfigurationKey', valueType: 'String', value: key },
      { key: 'trustedEndpointIdentifier', valueType: 'String', value: '{DeviceUid}' },
    ]);
    expect(body.ws1Api.settings).to.include({ password: 'set', apiKey: 'set', username: sim.credentials.username });
  });

  it('a windows integration gets WS1 settings but no App Config key', async () => {
    const win = (await server.app.services.integrations.create({ type: 'windows', name: 'PCs', allowLegacy: false }, ACTOR)).id;
    const r = await run([
      'integration',
      'configure',
      win,
      '--ws1-url',
      sim.url,
      '--ws1-username',
      sim.credentials.username,
      '--ws1-password-file',
      files.passwordFile,
      '--ws1-api-key-file',
      files.apiKeyFile,
      '--json',
    ]);
    expect(json(r), r.stdout).to.include({ platform: 'WinRT' });
    expect(json(await run(['integration', 'sync', win, '--json']))).to.include({ ok: true, fetched: 7 });
    const body = json(await run(['integration', 'show', win, '--json']));
    expect(body).to.not.have.property('appConfig');
  });

  it('refuses a second sync of the integration while one runs in another process', async () => {
    sim.setLatency(1500); // 3 pages: longer than the CLI takes to start
    const running = server.app.services.ws1Sync.sync(id); // the server process holds the lease
    const busy = await run(['integration', 'sync', id, '--json']);
    expect(busy.code).to.equal(1);
    expect(json<{ error: string }>(busy).error).to.contain('already running');
    const r = await running;
    expect(r).to.include({ ok: true });
  });

  it('never printed or logged the password or the API key', () => {
    expect(outputs.length).to.be.greaterThan(20);
    for (const o of outputs) {
      expect(o.stdout + o.stderr)
        .to.not.contain(PASSWORD)
        .and.not.contain(TENANT);
    }
    expect(logs.text()).to.contain('ws1 sync finished'); // the log was really captured
    expect(logs.text()).to.not.contain(PASSWORD).and.not.contain(TENANT);
  });
});
