import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { startPgCluster, PgCluster } from '../support/pg-cluster';
import { pooledKeys } from '../support/keys';
import { TEST_CHALLENGE, TestServer } from '../support/test-server';
import { ocspQuery, within } from '../integration/revocation-support';
import { fetchChallenge, IntegrationServer } from '../integration/integrations-support';
import { CaCertificates, ScepClient } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { pemEncode } from '../../src/pki/der';
import { byString } from '../support/items';

const ROOT = path.resolve(__dirname, '../../..');

function cli(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'scepter'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

/**
 * Two server processes on one PostgreSQL database behind a round-robin nginx. Fails (never
 * skips) with the reason when PostgreSQL or nginx is missing.
 */
describe('resilience: two instances on one PostgreSQL behind nginx', function () {
  this.timeout(90_000);
  let c: PgCluster;
  let cas: CaCertificates;
  const serials: string[] = [];

  before(async () => {
    c = await startPgCluster(2);
    cas = await new ScepClient(`${c.url}/scep`).getCaCertificates();
  });
  after(async () => c?.stop());

  it('100 enrollments through nginx land on both instances with distinct, recorded serials', async () => {
    const lb = new ScepClient(`${c.url}/scep`);
    const keys = await pooledKeys(8);
    const reqs = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        lb.preparePkcsReq({ cas, key: keys[i % 8]!, transactionId: `mi-${i}`, challenge: TEST_CHALLENGE, subject: [{ type: 'CN', value: `mi-${i}` }] }),
      ),
    );
    const before = c.upstreams().length;
    const queue = [...reqs];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          const res = await lb.submit(r);
          expect(res.status, res.failText).to.equal(PkiStatus.SUCCESS);
          serials.push(res.certificate!.serialHex);
        }
      }),
    );
    expect(new Set(serials).size).to.equal(100);
    const served = c.upstreams().slice(before);
    for (const inst of c.instances) expect(served.filter((u) => u === `127.0.0.1:${inst.port}`).length, `requests served by ${inst.url}`).to.be.above(20);
    const db = new Client({ connectionString: c.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query("SELECT serial FROM certificates WHERE transaction_id LIKE 'mi-%'");
      expect(rows.map((r) => String(r.serial)).sort(byString)).to.deep.equal([...serials].sort(byString));
    } finally {
      await db.end();
    }
  });

  it('a dynamic challenge used at once through both instances yields exactly one certificate', async () => {
    const created = await cli(c.instances[0]!.env, ['--json', 'integration', 'create', '--type', 'ios-certs', '--name', 'mi-ios', '--allow-legacy']);
    expect(created.code, created.stderr).to.equal(0);
    const integ = JSON.parse(created.stdout) as { id: string; challengeUsername: string; challengePassword: string };
    const keys = await pooledKeys(2);
    for (const round of ['r1', 'r2', 'r3']) {
      const challenge = await fetchChallenge({ url: c.instances[1]!.url } as IntegrationServer, integ);
      const clients = c.instances.map((i) => new ScepClient(`${i.url}/scep/${integ.id}`));
      const reqs = await Promise.all(
        clients.map((cl, i) =>
          cl.preparePkcsReq({
            cas,
            key: keys[i]!,
            challenge,
            transactionId: `mi-ch-${round}-${i}`,
            subject: [
              { type: 'OU', value: integ.id },
              { type: 'CN', value: `mi-ch-${round}-${i}` },
            ],
          }),
        ),
      );
      const results = await Promise.all(reqs.map((r, i) => clients[i]!.submit(r)));
      expect(
        results.filter((r) => r.status === PkiStatus.SUCCESS),
        round,
      ).to.have.length(1);
      expect(
        results.filter((r) => r.status === PkiStatus.FAILURE && r.failInfo === FailInfo.badRequest),
        round,
      ).to.have.length(1);
    }
  });

  it("a revocation through instance A's CLI is seen by B's OCSP within a second; both serve the same CRL", async () => {
    const caPemFile = path.join(c.dir, 'ca.pem');
    fs.writeFileSync(caPemFile, pemEncode('CERTIFICATE', cas.ca.der));
    const leaf = new ScepClient(`${c.instances[0]!.url}/scep`);
    const r = await leaf.enroll({ cas, challenge: TEST_CHALLENGE, subject: [{ type: 'CN', value: 'mi-revoke' }] });
    const leafPem = path.join(c.dir, 'leaf.pem');
    fs.writeFileSync(leafPem, pemEncode('CERTIFICATE', r.certificate!.der));
    const b = { url: c.instances[1]!.url, caPemFile } as TestServer;
    expect((await ocspQuery(b, [leafPem])).out).to.contain(': good');
    const revoked = await cli(c.instances[0]!.env, ['cert', 'revoke', r.certificate!.serialHex, '--reason', 'keyCompromise']);
    expect(revoked.code, revoked.stderr).to.equal(0);
    const ms = await within(1000, "B's OCSP says revoked", async () => (await ocspQuery(b, [leafPem])).out.includes(': revoked'));
    expect(ms).to.be.at.most(1000);
    const crl = async (url: string) => Buffer.from(await (await fetch(`${url}/crl/ca.crl`)).arrayBuffer());
    await within(1000, 'both serve the same CRL', async () => (await crl(c.instances[0]!.url)).equals(await crl(c.instances[1]!.url)));
    expect((await crl(c.instances[0]!.url)).equals(await crl(c.instances[1]!.url))).to.equal(true);
  });
});
