import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startTestServer, TestServer } from '../support/test-server';
import { createCertIntegration, crlText, fetchCrl, issueForDevice, Issued, ocspQuery, scratch, TEST_ACTOR } from './revocation-support';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function cli(server: TestServer, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'scepter'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...server.env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(); // not a terminal: confirmation needs --yes
  });
}

describe('revocation: deleting an integration revokes everything it issued', function () {
  let server: TestServer;
  const files = scratch();
  let doomed: string;
  let kept: string;
  const certs: Issued[] = [];
  let keptCert: Issued;

  before(async () => {
    server = await startTestServer();
    doomed = await createCertIntegration(server, 'Legacy certs to delete');
    kept = await createCertIntegration(server, 'Legacy certs to keep');
    for (const udid of ['DEL-1', 'DEL-2', 'DEL-3']) certs.push(await issueForDevice(server, files.dir, doomed, udid));
    certs.push(await issueForDevice(server, files.dir, doomed, 'DEL-1')); // re-enrolled: the first is superseded
    keptCert = await issueForDevice(server, files.dir, kept, 'KEEP-1');
    await server.app.services.integrations.setStatus(doomed, 'all', undefined, TEST_ACTOR);
    await server.app.services.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
  });
  after(async () => server.destroy());

  it('CLI: needs --yes without a terminal, and --force while it is active under a require-trusted policy', async () => {
    const noYes = await cli(server, ['integration', 'delete', doomed]);
    expect(noYes.code).to.equal(1);
    expect(noYes.stderr).to.contain('Deleting it revokes 4 unexpired certificate(s) on 3 device(s)');
    expect(noYes.stderr).to.contain('requires trusted devices');
    const noForce = await cli(server, ['integration', 'delete', doomed, '--yes']);
    expect(noForce.code).to.equal(1);
    expect(noForce.stderr).to.match(/refused: integration \S+ is active \(status all\) and a device-trust policy requires trusted devices/);
    expect(
      (
        await ocspQuery(
          server,
          certs.map((c) => c.pem),
        )
      ).out,
    ).to.not.contain(': revoked');
  });

  it('CLI --yes --force: revokes all its certificates in one go, republishes the CRL, 404s its SCEP URL, audits the count', async () => {
    const r = await cli(server, ['--json', 'integration', 'delete', doomed, '--yes', '--force']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { id: string; revoked: number; crlNumber: string };
    expect(out).to.include({ id: doomed, revoked: 4, reason: 'cessationOfOperation' });

    // the CLI republished the CRL itself; the server serves it and answers OCSP within a second
    await new Promise((res) => setTimeout(res, 1000));
    const ocsp = await ocspQuery(server, [...certs.map((c) => c.pem), keptCert.pem]);
    for (const c of certs) expect(ocsp.out).to.match(new RegExp(`${c.pem}: revoked\\s+This Update: [^\\n]+\\s+Reason: cessationOfOperation`));
    expect(ocsp.out).to.contain(`${keptCert.pem}: good`);
    const text = await crlText(server, files.dir, await fetchCrl(server));
    expect(Number(/X509v3 CRL Number:\s+(\d+)/.exec(text)![1])).to.be.at.least(Number(out.crlNumber));
    for (const c of certs) expect(text).to.contain(`Serial Number: ${c.cert.serialHex}`);

    expect((await fetch(`${server.url}/scep/${doomed}?operation=GetCACaps`)).status).to.equal(404);
    const [entry] = await server.app.services.audit.list({ action: 'integration.delete' });
    expect(entry).to.deep.include({ target: doomed });
    expect(entry!.details).to.include({ revoked: 4, reason: 'cessationOfOperation', forced: true });
    const again = await cli(server, ['integration', 'delete', doomed, '--yes']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain(`no integration ${doomed}`);
  });

  it('admin API: preview, 409 without force when it would lock users out, then DELETE ?force=true', async () => {
    const key = (await server.app.services.apiKeys.create('administrator', TEST_ACTOR)).key;
    const api = (p: string, method = 'GET') => fetch(`${server.url}/admin/v1${p}`, { method, headers: { Authorization: `Bearer ${key}` } });
    await server.app.services.integrations.setStatus(kept, 'all', undefined, TEST_ACTOR);
    const preview = (await (await api(`/integrations/${kept}/deletion`)).json()) as { certificates: number; devices: number; refusal?: string };
    expect(preview).to.include({ certificates: 1, devices: 1, deviceTrustRequired: true });
    expect(preview.refusal).to.be.a('string');
    const refused = await api(`/integrations/${kept}`, 'DELETE');
    expect(refused.status).to.equal(409);
    const done = await api(`/integrations/${kept}?force=true`, 'DELETE');
    expect(done.status).to.equal(200);
    expect(await done.json()).to.include({ id: kept, revoked: 1 });
    expect((await ocspQuery(server, [keptCert.pem])).out).to.contain(`${keptCert.pem}: revoked`);
    expect((await api(`/integrations/${kept}?force=true`, 'DELETE')).status).to.equal(404);
  });
});
