import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startTestServer, TestServer } from '../support/test-server';
import { transactionOf } from '../../src/db/transaction';
import { createCertIntegration, crlText, fetchCrl, issue, issueForDevice, Issued, ocspQuery, scratch, TEST_ACTOR, within } from './revocation-support';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** `node bin/scepter ...` in another process, on the server's database and CA (its environment). */
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
    child.stdin?.end();
  });
}

async function ocspSays(server: TestServer, cert: Issued, status: 'good' | 'revoked'): Promise<boolean> {
  const r = await ocspQuery(server, [cert.pem]);
  return r.out.includes('Response verify OK') && r.out.includes(`${cert.pem}: ${status}`);
}

describe('revocation: CLI, admin API, devices and integrations', function () {
  let server: TestServer;
  const files = scratch();

  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.destroy());

  describe('CLI in another process', () => {
    it('cert revoke: the running server says revoked over OCSP within a second', async () => {
      const leaf = await issue(server, files.dir, 'cli-leaf');
      expect(await ocspSays(server, leaf, 'good')).to.equal(true);
      const r = await cli(server, ['cert', 'revoke', leaf.cert.serialHex.toLowerCase(), '--reason', 'affiliationChanged']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain(`Revoked ${leaf.cert.serialHex} (affiliationChanged)`);
      const ms = await within(1500, 'OCSP revoked after the CLI revoked', () => ocspSays(server, leaf, 'revoked'));
      expect(ms).to.be.below(1500);
      // the CRL follows the revoked set once it is built (or adopted from the CLI's) and stored
      await within(1500 - ms, 'the CRL lists it', async () => (await crlText(server, files.dir, await fetchCrl(server))).includes(leaf.cert.serialHex));

      const again = await cli(server, ['--json', 'cert', 'revoke', leaf.cert.serialHex]);
      expect(again.code).to.equal(0);
      expect(JSON.parse(again.stdout)).to.include({ serial: leaf.cert.serialHex, revoked: false, alreadyRevoked: true, reason: 'affiliationChanged' });
    });

    it('cert revoke of an unknown serial exits 1 with a clear message; a bad reason too', async () => {
      const r = await cli(server, ['cert', 'revoke', 'DEADBEEF']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('no certificate with serial DEADBEEF was issued by this CA');
      const bad = await cli(server, ['cert', 'revoke', 'DEADBEEF', '--reason', 'whim']);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.contain('unknown revocation reason "whim"');
    });

    it('cert list filters by status and integration, as text and JSON', async () => {
      const json = await cli(server, ['--json', 'cert', 'list', '--status', 'revoked']);
      expect(json.code, json.stderr).to.equal(0);
      const { certificates } = JSON.parse(json.stdout) as { certificates: { status: string; reason: string }[] };
      expect(certificates.length).to.be.greaterThan(0);
      expect(certificates.every((c) => c.status === 'revoked' && c.reason)).to.equal(true);
      const valid = JSON.parse((await cli(server, ['--json', 'cert', 'list', '--status', 'valid'])).stdout) as { certificates: { status: string }[] };
      expect(valid.certificates.every((c) => c.status === 'valid' || c.status === 'superseded')).to.equal(true);
      const none = await cli(server, ['cert', 'list', '--integration', 'DI-none']);
      expect(none.stdout.trim()).to.equal('no certificates');
      const text = await cli(server, ['cert', 'list', '--limit', '1']);
      expect(text.stdout).to.match(/^SERIAL +STATUS +NOT AFTER +INTEGRATION +DEVICE +SUBJECT\n[0-9A-F]{32} +(valid|revoked|superseded) /);
      expect(text.stdout).to.contain('(more: --cursor ');
    });
  });

  describe('devices and integrations', () => {
    let integrationId: string;
    let otherIntegration: string;
    const certs: Record<string, Issued> = {};

    before(async () => {
      integrationId = await createCertIntegration(server, 'Legacy iOS certificates');
      otherIntegration = await createCertIntegration(server, 'Another one');
      certs.a1 = await issueForDevice(server, files.dir, integrationId, 'UDID-A');
      certs.a2 = await issueForDevice(server, files.dir, integrationId, 'UDID-A'); // re-enrollment: a1 superseded
      certs.b = await issueForDevice(server, files.dir, integrationId, 'UDID-B');
      certs.c = await issueForDevice(server, files.dir, integrationId, 'UDID-C');
      certs.other = await issueForDevice(server, files.dir, otherIntegration, 'UDID-B');
    });

    it('a superseded certificate stays valid until it expires: good over OCSP, not on the CRL', async () => {
      const [row] = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE serial = ?', [certs.a1!.cert.serialHex]);
      expect(row.status).to.equal('superseded');
      expect(await ocspSays(server, certs.a1!, 'good')).to.equal(true);
      expect(await crlText(server, files.dir, await fetchCrl(server))).to.not.contain(certs.a1!.cert.serialHex);
    });

    it('device revoke (CLI) revokes all of one device’s certificates, superseded ones included', async () => {
      const r = await cli(server, ['device', 'revoke', integrationId, 'UDID-A', '--reason', 'keyCompromise']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('Revoked 2 certificate(s) of device UDID-A (keyCompromise)');
      await within(1500, 'both of UDID-A revoked', async () => (await ocspSays(server, certs.a1!, 'revoked')) && ocspSays(server, certs.a2!, 'revoked'));
      expect(await ocspSays(server, certs.b!, 'good')).to.equal(true);
      const unknown = await cli(server, ['device', 'revoke', integrationId, 'UDID-NOPE']);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.contain(`no certificates for device UDID-NOPE in integration ${integrationId}`);
    });

    it('revokeAllForIntegration revokes inside the caller’s transaction; servers see it within a second of the commit', async () => {
      const { db, revocation } = server.app.services;
      const n = await db.transaction(async (m) => {
        const count = await revocation.revokeAllForIntegration(transactionOf(m), integrationId, 'cessationOfOperation', new Date());
        // not committed yet: the running server must not see it
        await new Promise((r) => setTimeout(r, 700));
        expect(await ocspSays(server, certs.b!, 'good')).to.equal(true);
        return count;
      });
      expect(n).to.equal(2); // UDID-B and UDID-C; UDID-A's are already revoked
      const committedAt = Date.now();
      await within(1000, 'UDID-B revoked after commit', () => ocspSays(server, certs.b!, 'revoked'));
      // OCSP answers from the revoked set as soon as it is loaded; the CRL follows once built and stored
      let text = '';
      await within(1000 - (Date.now() - committedAt), 'the CRL lists every revoked certificate', async () => {
        text = await crlText(server, files.dir, await fetchCrl(server));
        return [certs.a1!, certs.a2!, certs.b!, certs.c!].every((c) => text.includes(c.cert.serialHex));
      });
      expect(text).to.match(
        new RegExp(`${certs.c!.cert.serialHex}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Cessation Of Operation`),
      );
      expect(await ocspSays(server, certs.other!, 'good')).to.equal(true);
      expect(await db.transaction((m) => revocation.revokeAllForIntegration(transactionOf(m), integrationId, 'cessationOfOperation', new Date()))).to.equal(0);
    });

    it('a transaction that rolls back revokes nothing', async () => {
      const { db, revocation } = server.app.services;
      const err = await db
        .transaction(async (m) => {
          expect(await revocation.revokeAllForIntegration(transactionOf(m), otherIntegration, 'cessationOfOperation', new Date())).to.equal(1);
          throw new Error('rolled back');
        })
        .catch((e: unknown) => e);
      expect((err as Error).message).to.equal('rolled back');
      await new Promise((r) => setTimeout(r, 700));
      expect(await ocspSays(server, certs.other!, 'good')).to.equal(true);
    });
  });

  describe('admin API', () => {
    let admin: string;
    let readOnly: string;
    const api = (p: string, key: string, init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) =>
      fetch(`${server.url}/admin/v1${p}`, {
        ...init,
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...init.headers },
      });

    before(async () => {
      admin = (await server.app.services.apiKeys.create('administrator', TEST_ACTOR)).key;
      readOnly = (await server.app.services.apiKeys.create('read-only', TEST_ACTOR)).key;
    });

    it('POST /certificates/:serial/revoke revokes (once), with the reason from the body', async () => {
      const leaf = await issue(server, files.dir, 'api-leaf');
      const res = await api(`/certificates/${leaf.cert.serialHex}/revoke`, admin, { method: 'POST', body: JSON.stringify({ reason: 'privilegeWithdrawn' }) });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.include({ serial: leaf.cert.serialHex, revoked: true, reason: 'privilegeWithdrawn' });
      expect(await ocspSays(server, leaf, 'revoked')).to.equal(true);
      const again = await api(`/certificates/${leaf.cert.serialHex}/revoke`, admin, { method: 'POST' });
      expect(await again.json()).to.include({ revoked: false, alreadyRevoked: true, reason: 'privilegeWithdrawn' });
      const missing = await api('/certificates/ABCDEF/revoke', admin, { method: 'POST' });
      expect(missing.status).to.equal(404);
      expect(await missing.json()).to.deep.equal({ error: 'not_found', message: 'no certificate with serial ABCDEF was issued by this CA' });
      const bad = await api(`/certificates/${leaf.cert.serialHex}/revoke`, admin, { method: 'POST', body: '{"reason": 5.5}' });
      expect(bad.status).to.equal(400);
    });

    it('GET /certificates lists with filters and paging; a read-only key may list but not revoke', async () => {
      const res = await api('/certificates?status=revoked&limit=2', readOnly);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { certificates: { id: number; status: string }[]; next: number | null };
      expect(body.certificates).to.have.length(2);
      expect(body.certificates.every((c) => c.status === 'revoked')).to.equal(true);
      const page2 = (await (await api(`/certificates?status=revoked&limit=2&after=${body.next}`, readOnly)).json()) as { certificates: { id: number }[] };
      expect(page2.certificates[0]!.id).to.be.greaterThan(body.next!);
      expect((await api('/certificates?status=bogus', readOnly)).status).to.equal(400);
      expect((await api('/certificates/01/revoke', readOnly, { method: 'POST' })).status).to.equal(403);
      expect((await fetch(`${server.url}/admin/v1/certificates`)).status).to.equal(401);
    });

    it('POST /integrations/:id/devices/:udid/revoke revokes one device', async () => {
      const id = await createCertIntegration(server, 'API devices');
      const d = await issueForDevice(server, files.dir, id, 'UDID-API');
      const res = await api(`/integrations/${id}/devices/UDID-API/revoke`, admin, { method: 'POST', body: JSON.stringify({ reason: 'affiliationChanged' }) });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ integrationId: id, deviceId: 'UDID-API', revoked: 1, certificates: 1, reason: 'affiliationChanged' });
      expect(await ocspSays(server, d, 'revoked')).to.equal(true);
      expect((await api(`/integrations/${id}/devices/UDID-NONE/revoke`, admin, { method: 'POST' })).status).to.equal(404);
      const audit = await server.app.services.audit.list({ action: 'device.revoke' });
      expect(audit.some((e) => e.target === `${id}:UDID-API` && e.who.startsWith('AK'))).to.equal(true);
    });
  });
});
