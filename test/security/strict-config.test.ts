import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadHomeConfig } from '../../src/config/config-file';
import { loadConfig } from '../../src/config/config';
import { refusal, runServer, serverEnv } from './startup-support';

/** Threat: a setting read loosely makes the server listen, trust or share files other than the admin meant. */
describe('security: configuration is strict', function () {
  let dir: string;
  let env: Record<string, string>;
  before(async () => ({ dir, env } = await serverEnv('strict-config')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ports are decimal 1-65535 (or exactly 0): 0x50, 1e3, +8080, 8080.0, " 8080" and 65536 stop the start with exit 2 naming the variable', async () => {
    for (const [name, value] of [
      ['SCEPTER_HTTP_PORT', '0x50'],
      ['SCEPTER_HTTP_PORT', '1e3'],
      ['SCEPTER_HTTP_PORT', '+8080'],
      ['SCEPTER_TLS_PORT', '8080.0'],
      ['SCEPTER_TLS_PORT', ' 8443'],
      ['SCEPTER_HTTP_PORT', '65536'],
      ['SCEPTER_TLS_PORT', '0x0'],
    ] as const) {
      const line = refusal(await runServer({ ...env, [name]: value }, dir), name);
      expect(line, `${name}=${value}`).to.contain('decimal port');
    }
    // nothing was created by a refused start
    expect(fs.existsSync(`${dir}/certs`)).to.equal(false);
    // the forms tests and deployments use still work: decimal ports, and exactly "0" for any free port
    expect(loadConfig({ SCEPTER_HTTP_PORT: '8080', SCEPTER_TLS_PORT: '0' })).to.deep.include({ tls: { port: 0 } });
    expect(loadConfig({ SCEPTER_HTTP_PORT: '65535' }).http.port).to.equal(65535);
    expect(loadConfig({}).http.port).to.equal(8080);
  });

  it('every other number setting is decimal too: 0x10, 1e2, " 5", 5.0 and -1 stop the start naming the variable; plain digits work', async () => {
    const line = refusal(await runServer({ ...env, SCEPTER_WORKERS: '0x1' }, dir), 'SCEPTER_WORKERS');
    expect(line).to.contain('whole decimal number');
    for (const [name, value] of [
      ['SCEPTER_AUTH_MAX_FAILURES', '0x10'],
      ['SCEPTER_RENEWAL_WINDOW_DAYS', '1e2'],
      ['SCEPTER_CERT_VALIDITY_DAYS', ' 5'],
      ['SCEPTER_CHALLENGE_TTL_MINUTES', '5.0'],
      ['SCEPTER_AUTH_COOLDOWN_SECONDS', '-1'],
      ['SCEPTER_MAX_BODY_BYTES', 'Infinity'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).to.throw(new RegExp(`${name}: must be a whole decimal number`));
    }
    const c = loadConfig({ SCEPTER_AUTH_MAX_FAILURES: '12', SCEPTER_RENEWAL_WINDOW_DAYS: '30', SCEPTER_SYNC_SPREAD_MINUTES: '0' });
    expect([c.auth.maxFailures, c.renewalWindowDays, c.ws1.spreadMinutes]).to.deep.equal([12, 30, 0]);
    expect(() => loadConfig({ SCEPTER_AUTH_MAX_FAILURES: '0' })).to.throw(/SCEPTER_AUTH_MAX_FAILURES: must be a whole decimal number 1-1000/);
  });

  it('trusted proxies of 0.0.0.0/0 or ::/0 (any /0) are refused unless SCEPTER_TRUST_ANY_PROXY=on', async () => {
    for (const value of ['0.0.0.0/0', '::/0', '127.0.0.1, 10.0.0.0/0']) {
      const line = refusal(await runServer({ ...env, SCEPTER_TRUSTED_PROXIES: value }, dir), 'SCEPTER_TRUSTED_PROXIES');
      expect(line).to.contain('SCEPTER_TRUST_ANY_PROXY');
    }
    expect(loadConfig({ SCEPTER_TRUSTED_PROXIES: '0.0.0.0/0,::/0', SCEPTER_TRUST_ANY_PROXY: 'on' }).trust.trustedProxies).to.deep.equal(['0.0.0.0/0', '::/0']);
    expect(loadConfig({ SCEPTER_TRUSTED_PROXIES: '10.0.0.0/8, ::1' }).trust.trustedProxies).to.deep.equal(['10.0.0.0/8', '::1']);
  });

  it('a config file or passphrase file holding a secret must be private: readable by others, the start stops naming it (the secret is never shown)', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-secret-file-'));
    try {
      const file = path.join(home, 'scepter.env');
      fs.writeFileSync(file, 'SCEPTER_STATIC_CHALLENGE=a-static-secret-123\n', { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      const rest = { ...env };
      delete rest.SCEPTER_STATIC_CHALLENGE;
      const line = refusal(await runServer({ ...rest, SCEPTER_HOME: home }, dir), 'SCEPTER_HOME');
      expect(line).to.contain(file).and.contain('SCEPTER_STATIC_CHALLENGE').and.contain('0644').and.contain('chmod 600').and.not.contain('a-static-secret-123');
      // private, or without a secret in it: read normally
      fs.chmodSync(file, 0o600);
      expect(loadHomeConfig({ SCEPTER_HOME: home }).staticChallenge).to.equal('a-static-secret-123');
      fs.writeFileSync(file, 'SCEPTER_LOG_LEVEL=warn\n');
      fs.chmodSync(file, 0o644);
      expect(loadHomeConfig({ SCEPTER_HOME: home }).logLevel).to.equal('warn');
      // the passphrase file
      const pass = path.join(home, 'ca.pass');
      fs.writeFileSync(pass, 'a long passphrase\n');
      fs.chmodSync(pass, 0o640);
      expect(() => loadConfig({ SCEPTER_CA_KEY_PASSPHRASE_FILE: pass })).to.throw(
        /^SCEPTER_CA_KEY_PASSPHRASE_FILE: .*ca\.pass holds the CA key passphrase but other users can read it \(mode 0640\)/,
      );
      fs.chmodSync(pass, 0o400);
      expect(loadConfig({ SCEPTER_CA_KEY_PASSPHRASE_FILE: pass }).ca.passphrase).to.equal('a long passphrase');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('SCEPTER_WORKERS > 1 on SQLite is refused (PostgreSQL only)', async () => {
    const line = refusal(await runServer({ ...env, SCEPTER_WORKERS: '2' }, dir), 'SCEPTER_WORKERS');
    expect(line).to.contain('PostgreSQL');
    expect(loadConfig({ SCEPTER_WORKERS: '2', SCEPTER_DATABASE: 'postgres://postgres@127.0.0.1:5432/test' }).workers).to.equal(2);
    expect(loadConfig({ SCEPTER_WORKERS: '1' }).workers).to.equal(1);
  });
});
