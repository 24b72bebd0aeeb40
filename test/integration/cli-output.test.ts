import { expect } from 'chai';
import { waitFor } from '../support/proc';
import { freeTcpPort } from '../support/test-server';
import fs from 'node:fs';
import path from 'node:path';
import { startWs1Simulator, SIM_DEFAULTS } from '../../scripts/ws1-sim/ws1-simulator';
import { secretFiles } from '../support/ws1-services';
import { initHome, scepter, scratchDir, startHomeServer } from './ops-support';

describe('CLI output and log format', function () {
  let home: string;
  before(async () => {
    home = await initHome(['--public-url', 'https://logs.example.com']);
  });

  it('argument errors follow --json: one JSON object on stdout, nothing on stderr, exit 1', async () => {
    for (const args of [
      ['--json', 'cert', 'list', '--bogus'],
      ['cert', 'revoke', '--json'],
      ['--json', 'no-such-command'],
      ['--json', 'cert', 'list', '--status', 'sideways'],
    ]) {
      const r = await scepter(args, { env: { SCEPTER_HOME: home } });
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.equal('');
      const parsed = JSON.parse(r.stdout);
      expect(Object.keys(parsed), args.join(' ')).to.deep.equal(['error']);
      expect(parsed.error)
        .to.be.a('string')
        .and.not.match(/^error:/);
    }
    const text = await scepter(['cert', 'list', '--bogus'], { env: { SCEPTER_HOME: home } });
    expect(text.code).to.equal(1);
    expect(text.stdout).to.equal('');
    expect(text.stderr).to.match(/^error: unknown option '--bogus'/);
    const help = await scepter(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain('Usage: scepter');
  });

  it('human output: "1 member", "2 members"', async () => {
    const env = { SCEPTER_HOME: home };
    for (const args of [
      ['group', 'create', 'solo'],
      ['group', 'add-member', 'solo', 'alice'],
      ['group', 'create', 'pair'],
      ['group', 'add-member', 'pair', 'bob'],
      ['group', 'add-member', 'pair', 'carol'],
    ]) {
      const r = await scepter(args, { env });
      expect(r.code, r.stderr).to.equal(0);
    }
    const list = await scepter(['group', 'list'], { env });
    expect(list.stdout).to.contain('solo  (1 member)\n');
    expect(list.stdout).to.contain('pair  (2 members)');
    const none = await scepter(['cert', 'list'], { env });
    expect(none.stdout.trim()).to.equal('no certificates');
  });

  it("logs never reach the CLI's stdout, and the server's log level in scepter.env does not make the CLI chatty", async () => {
    const sim = await startWs1Simulator({ devicesPerPlatform: { Apple: 3 } });
    try {
      const logHome = await initHome(['--public-url', 'https://logs2.example.com']);
      fs.appendFileSync(path.join(logHome, 'scepter.env'), 'SCEPTER_LOG_LEVEL=info\n');
      const env = { SCEPTER_HOME: logHome, SCEPTER_WS1_ALLOW_HTTP: 'on' };
      const id = JSON.parse((await scepter(['--json', 'integration', 'create', '--type', 'ios', '--name', 'Phones'], { env })).stdout).id as string;
      const files = secretFiles(scratchDir('secrets'), SIM_DEFAULTS.password, SIM_DEFAULTS.tenantCode);
      const conf = await scepter(
        [
          'integration',
          'configure',
          id,
          '--ws1-url',
          sim.url,
          '--ws1-username',
          SIM_DEFAULTS.username,
          '--ws1-password-file',
          files.passwordFile,
          '--ws1-api-key-file',
          files.apiKeyFile,
        ],
        { env },
      );
      expect(conf.code, conf.stderr).to.equal(0);
      // one 503 makes the sync retry, which logs at info level
      const sync = async (extraEnv: Record<string, string>) => {
        sim.setFault({ type: 'status', status: 503, times: 1 });
        return scepter(['integration', 'sync', id], { env: { ...env, ...extraEnv } });
      };
      const quiet = await sync({});
      expect(quiet.code, quiet.stderr).to.equal(0);
      expect(quiet.stdout).to.match(/^Synced 3 managed devices/);
      expect(quiet.stderr).to.not.contain('ws1 retry');
      const chatty = await sync({ SCEPTER_LOG_LEVEL: 'info' });
      expect(chatty.code, chatty.stderr).to.equal(0);
      expect(chatty.stdout).to.match(/^Synced 3 managed devices [^\n]*\n$/);
      expect(JSON.parse(chatty.stderr.split('\n').find((l) => l.includes('ws1 retry'))!)).to.include({ msg: 'ws1 retry' });
    } finally {
      await sim.close();
    }
  });

  it('revocation reasons: removeFromCRL (by name or code 8) is refused', async () => {
    for (const reason of ['removeFromCRL', '8']) {
      const r = await scepter(['--json', 'cert', 'revoke', '7F66C6BC069022C70B036A086C338FC8', '--reason', reason], { env: { SCEPTER_HOME: home } });
      expect(r.code).to.equal(1);
      expect(JSON.parse(r.stdout)).to.deep.equal({ error: 'removeFromCRL cannot be used to revoke' });
    }
  });

  it('SCEPTER_LOG_FORMAT=pretty prints readable lines, json (the default) one JSON object a line', async () => {
    for (const format of ['pretty', 'json']) {
      const port = await freeTcpPort();
      const server = await startHomeServer(home, { SCEPTER_HTTP_PORT: String(port), SCEPTER_LOG_LEVEL: 'info', SCEPTER_LOG_FORMAT: format });
      try {
        const r = await fetch(`http://127.0.0.1:${port}/certsrv/mscep_admin/`, {
          headers: { Authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` },
        });
        expect(r.status).to.equal(401);
        await waitFor(() => /bad credentials/.test(server.output()), 10_000, 'the log line');
        const line = server
          .output()
          .split('\n')
          .find((l) => l.includes('bad credentials'))!;
        if (format === 'json') expect(JSON.parse(line)).to.include({ level: 40, msg: 'challenge URL: bad credentials' });
        else {
          expect(() => JSON.parse(line)).to.throw();
          expect(line).to.match(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] WARN: challenge URL: bad credentials /);
        }
      } finally {
        await server.kill();
      }
    }
    const bad = await scepter(['status'], { env: { SCEPTER_HOME: home, SCEPTER_LOG_FORMAT: 'yaml' } });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('SCEPTER_LOG_FORMAT');
  });
});
