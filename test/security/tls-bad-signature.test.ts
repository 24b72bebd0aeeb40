import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pemDecode, pemEncode } from '../../src/pki/der';
import { pooledKeys } from '../support/keys';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from '../integration/integrations-support';
import { craftWithOurCa, Device, enrollDevice, mtlsCheck } from '../integration/trust-support';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Asynchronous, so the server in this process keeps answering. */
const run = (cmd: string, args: string[], input?: string): Promise<Run> =>
  new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

/**
 * Threat: a client certificate whose signature does not verify (tampered, forged with our CA's
 * name) must get the device-trust policy's answer, `unknown-issuer`, like any other untrusted
 * certificate: a closed connection would hide the decision from the login flow and the log.
 */
describe('security: a client certificate with a bad signature gets the policy answer', function () {
  let server: IntegrationServer;
  let device: Device;
  let caPem: string;
  let dir: string;
  let url: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-tls-sig-'));
    server = await startIntegrationServer();
    const integ = await createIosCerts(server);
    await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    await server.app.services.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
    device = await enrollDevice(server, integ, 'UDID-TLS-SIG-1', (await pooledKeys(1))[0]);
    await server.app.trust.refresh();
    caPem = pemEncode('CERTIFICATE', server.app.services.authority.caCertificate.der);
    fs.writeFileSync(path.join(dir, 'ca.pem'), caPem);
    url = `https://127.0.0.1:${server.app.tlsPort()}/v1/device-trust?user=alice`;
  });
  after(async () => {
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A certificate our CA key signed, with one byte of its signature flipped. */
  async function tampered(i: number): Promise<{ certFile: string; keyFile: string; certPem: string; keyPem: string }> {
    const c = await craftWithOurCa(server.app.services.authority, `tampered-${i}`, new Date(Date.now() - 3_600_000), new Date(Date.now() + 86_400_000));
    const der = Buffer.from(pemDecode(c.certPem, 'CERTIFICATE'));
    der[der.length - 1 - (i % 200)]! ^= 0x5a;
    const certPem = pemEncode('CERTIFICATE', der);
    const certFile = path.join(dir, `bad-${i}.pem`);
    const keyFile = path.join(dir, `bad-${i}.key`);
    fs.writeFileSync(certFile, certPem);
    fs.writeFileSync(keyFile, c.keyPem);
    return { certFile, keyFile, certPem, keyPem: c.keyPem };
  }

  it('curl (TLS 1.3 and 1.2, with and without the CA in the chain it sends), openssl s_client and Node with a tampered certificate get 403 unknown-issuer every time, not a closed connection', async () => {
    for (let i = 0; i < 8; i++) {
      const bad = await tampered(i);
      const tls = i % 2 ? ['--tlsv1.2', '--tls-max', '1.2'] : ['--tlsv1.3'];
      // with --cacert, curl's OpenSSL also sends our CA certificate after the leaf; with -k only the leaf
      const trust = i % 4 < 2 ? ['--cacert', path.join(dir, 'ca.pem')] : ['-k'];
      const r = await run('curl', ['-sS', ...trust, ...tls, '--cert', bad.certFile, '--key', bad.keyFile, '-w', '\n%{http_code}', url]);
      expect(r.code, `attempt ${i}: ${r.stderr}`).to.equal(0);
      const [body, status] = r.stdout.split('\n');
      expect(status, `attempt ${i}`).to.equal('403');
      expect(JSON.parse(body!)).to.include({ decision: 'deny', trusted: false, reason: 'unknown-issuer', method: 'certificate' });
    }
    // openssl s_client and Node get the same answer, and the log records the denials

    const bad = await tampered(100);
    const s = await run(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.app.tlsPort()}`, '-CAfile', path.join(dir, 'ca.pem'), '-cert', bad.certFile, '-key', bad.keyFile, '-quiet'],
      'GET /v1/device-trust?user=bob HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(s.stdout)
      .to.match(/^HTTP\/1\.1 403/)
      .and.contain('"reason":"unknown-issuer"');
    const n = await mtlsCheck(server.app.tlsPort(), caPem, 'user=carol', await tampered(101));
    expect(n.status).to.equal(403);
    expect(n.body.reason).to.equal('unknown-issuer');
    await server.app.trust.flush();
    const log = await server.app.services.authLog.list({ user: 'carol' });
    expect(log.map((e) => (e as unknown as { reason: string }).reason)).to.include('unknown-issuer');
    // the listener still names our CA as acceptable and trusts the devices it issued
    const names = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.app.tlsPort()}`, '-CAfile', path.join(dir, 'ca.pem')], '');
    expect(names.stdout).to.match(/Acceptable client certificate CA names\s+O = Scepter, CN = Scepter Device CA/);
    const ok = await mtlsCheck(server.app.tlsPort(), caPem, 'user=dave', device);
    expect(ok.body).to.include({ decision: 'allow', trusted: true });
  });
});
