import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { pemEncode } from '../../src/pki/der';
import { TLS_FILES } from '../../src/http/tls-server';
import { pooledKeys } from '../support/keys';
import { makeTempDir, run } from '../support/proc';
import { startNginx, Nginx } from '../support/nginx';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from '../integration/integrations-support';
import { Device, enrollDevice } from '../integration/trust-support';

/** Device trust checked with curl, openssl s_client, and through a real nginx terminating TLS. */
describe('device trust with real TLS clients and an nginx proxy', function () {
  let server: IntegrationServer;
  let device: Device;
  let dir: string;
  let nginx: Nginx;
  const f = (name: string) => path.join(dir, name);

  const curl = async (url: string, args: string[] = []) => {
    const r = await run('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args, url], { timeoutMs: 30_000 });
    const lines = r.stdout.trimEnd().split('\n');
    const status = Number(lines.pop());
    return { status, body: lines.length ? JSON.parse(lines.join('\n')) : undefined, stderr: r.stderr };
  };
  const withCert = (name: string) => ['--cert', f(`${name}.pem`), '--key', f(`${name}.key`)];

  before(async () => {
    // nginx connects to us from 127.0.0.2 (proxy_bind): the only address allowed to send the header
    server = await startIntegrationServer({ SCEPTER_TRUSTED_PROXIES: '127.0.0.2' });
    const s = server.app.services;
    const integ = await createIosCerts(server);
    await s.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    await s.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
    const [key] = await pooledKeys(1);
    device = await enrollDevice(server, integ, 'UDID-TOOLS-1', key);
    dir = makeTempDir('scepter-trust-tools');
    fs.writeFileSync(f('ca.pem'), pemEncode('CERTIFICATE', s.authority.caCertificate.der));
    fs.writeFileSync(f('device.pem'), device.certPem);
    fs.writeFileSync(f('device.key'), device.keyPem);
    // a certificate from a CA made by openssl: another issuer altogether
    const ssl = (args: string[]) => run('openssl', args, { cwd: dir });
    await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-subj', '/CN=Other CA', '-days', '2']);
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=UDID-OTHER']);
    await ssl(['x509', '-req', '-in', 'other.csr', '-CA', 'other-ca.pem', '-CAkey', 'other-ca.key', '-CAcreateserial', '-out', 'other.pem', '-days', '1']);
    const httpPort = new URL(server.url).port;
    nginx = await startNginx({
      files: {
        'tls.crt': fs.readFileSync(path.join(server.env.SCEPTER_CERTS_DIR!, TLS_FILES.cert)),
        'tls.key': fs.readFileSync(path.join(server.env.SCEPTER_CERTS_DIR!, TLS_FILES.key)),
        'ca.pem': fs.readFileSync(f('ca.pem')),
      },
      servers: `
        server {
          listen 127.0.0.1:{{PORT}} ssl;
          ssl_certificate tls.crt;
          ssl_certificate_key tls.key;
          ssl_client_certificate ca.pem;
          ssl_verify_client optional_no_ca;
          location / {
            proxy_pass http://127.0.0.1:${httpPort};
            proxy_bind 127.0.0.2;
            proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          }
        }`,
    });
    await server.app.trust.refresh();
  });
  after(async () => {
    await nginx?.stop();
    await server?.destroy();
  });

  const direct = () => `https://127.0.0.1:${server.app.tlsPort()}/v1/device-trust?user=alice`;
  const proxied = () => `https://127.0.0.1:${nginx.port}/v1/device-trust?user=alice`;

  it('curl --cert: trusted; without a certificate or with another CA: 403 with the reason', async () => {
    const ok = await curl(direct(), ['--cacert', f('ca.pem'), ...withCert('device')]);
    expect(ok.status, ok.stderr).to.equal(200);
    expect(ok.body).to.include({ decision: 'allow', trusted: true, serial: device.serial, device: 'UDID-TOOLS-1' });
    expect((await curl(direct(), ['--cacert', f('ca.pem')])).body).to.include({ decision: 'deny', reason: 'no-certificate' });
    const other = await curl(direct(), ['--cacert', f('ca.pem'), ...withCert('other')]);
    expect(other.status).to.equal(403);
    expect(other.body).to.include({ reason: 'unknown-issuer' });
  });

  it('openssl s_client: verifies our server certificate and gets a trusted answer', async () => {
    const req = 'GET /v1/device-trust?user=alice&application=s_client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
    const r = await run(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${server.app.tlsPort()}`,
        '-CAfile',
        f('ca.pem'),
        '-verify_return_error',
        '-verify_ip',
        '127.0.0.1',
        '-cert',
        f('device.pem'),
        '-key',
        f('device.key'),
        '-quiet',
      ],
      { input: req, timeoutMs: 20_000 },
    );
    expect(r.stdout).to.match(/^HTTP\/1\.1 200 OK/);
    expect(r.stdout).to.contain('"trusted":true');
    expect(r.stdout).to.contain(`"serial":"${device.serial}"`);
  });

  it('through nginx (ssl_verify_client optional_no_ca): the escaped-certificate header is honoured', async () => {
    const ok = await curl(proxied(), ['--cacert', f('ca.pem'), ...withCert('device')]);
    expect(ok.status, ok.stderr).to.equal(200);
    expect(ok.body).to.include({ trusted: true, serial: device.serial });
    expect((await curl(proxied(), ['--cacert', f('ca.pem')])).body).to.include({ reason: 'no-certificate' });
    expect((await curl(proxied(), ['--cacert', f('ca.pem'), ...withCert('other')])).body).to.include({ reason: 'unknown-issuer' });
  });

  it('serves a certificate the admin supplies (SCEPTER_TLS_CERT/KEY) and refuses a key that does not match', async () => {
    const supplied = await startIntegrationServer({ SCEPTER_TLS_CERT: f('other-ca.pem'), SCEPTER_TLS_KEY: f('other-ca.key') });
    try {
      const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${supplied.app.tlsPort()}`, '-brief'], { input: '', timeoutMs: 20_000 });
      expect(r.stdout + r.stderr).to.match(/Peer certificate: CN ?= ?Other CA/);
    } finally {
      await supplied.destroy();
    }
    let error: unknown;
    try {
      await startIntegrationServer({ SCEPTER_TLS_CERT: f('other-ca.pem'), SCEPTER_TLS_KEY: f('other.key') });
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.contain('SCEPTER_TLS_CERT').and.contain('does not belong');
  });

  it('the same header sent straight to the plain HTTP port (not from the proxy) is ignored', async () => {
    const spoof = await curl(`${server.url}/v1/device-trust?user=alice&application=spoof`, ['-H', `X-SSL-Client-Cert: ${encodeURIComponent(device.certPem)}`]);
    expect(spoof.status).to.equal(403);
    expect(spoof.body).to.include({ trusted: false, reason: 'no-certificate' });
    await server.app.trust.flush();
    const [entry] = await server.app.services.authLog.list({ user: 'alice', limit: 1 });
    expect(entry).to.include({ application: 'spoof', note: 'spoofed-certificate-header' });
  });
});
