import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { openssl } from '../support/openssl-cli';
import { mutatedInputs } from '../support/mutations';
import { FuzzCase, runFuzzCases } from '../support/fuzz-runner';
import { pemEncode } from '../../src/pki/der';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const OCSP_RUNS = Number(process.env.FUZZ_OCSP_RUNS ?? 30_000);
const CHALLENGE_RUNS = Number(process.env.FUZZ_CHALLENGE_RUNS ?? 15_000);
const TRUST_RUNS = Number(process.env.FUZZ_TRUST_RUNS ?? 15_000);

/**
 * OCSP, the NDES challenge URL and the device-trust check under generated and mutated input (with
 * the SCEP fuzz suite: over 100,000 inputs in all). Never a 500, only the answers each endpoint
 * documents, memory flat. FUZZ_SEED replays a run.
 */
describe(`fuzz: OCSP, challenge URL and device trust (seed ${SEED})`, function () {
  this.timeout(900_000);
  let server: TestServer;
  let leafPem: string;
  // the proxy address is trusted, so the certificate header is parsed rather than ignored
  before(async () => {
    server = await startTestServer({ SCEPTER_TRUSTED_PROXIES: '127.0.0.1' });
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const r = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'fuzz-leaf' }], challenge: TEST_CHALLENGE, key, transactionId: 'fuzz-leaf' });
    leafPem = pemEncode('CERTIFICATE', r.certificate!.der);
  });
  after(async () => server.destroy());

  const flat = (rss: number[]) => {
    const half = rss.slice(Math.floor(rss.length / 2));
    return Math.max(...half) - half[0]!;
  };

  it(`OCSP: ${OCSP_RUNS} mutated requests by POST and GET answer an OCSP response, never a 500`, async () => {
    const leaf = path.join(server.dir, 'leaf.pem');
    fs.writeFileSync(leaf, leafPem);
    // (a digest option must come before -cert/-serial)
    const seeds = [['-nonce'], ['-no_nonce'], ['-nonce', '-sha256']].map((extra, i) => {
      const out = path.join(server.dir, `req${i}.der`);
      const r = openssl(['ocsp', ...extra, '-issuer', server.caPemFile, '-cert', leaf, '-serial', '0x0102', '-reqout', out]);
      expect(r.ok, r.out).to.equal(true);
      return fs.readFileSync(out);
    });
    const bodies = fc.sample(mutatedInputs(seeds), { numRuns: OCSP_RUNS, seed: SEED + 2 });
    const cases: FuzzCase[] = bodies.map((b, i) =>
      i % 4 === 0
        ? { method: 'GET', path: `/ocsp/${encodeURIComponent(b.toString('base64'))}` }
        : { method: 'POST', path: '/ocsp', body: b, headers: { 'Content-Type': 'application/ocsp-request' } },
    );
    const report = await runFuzzCases(server.url, cases, {
      check: (_c, status, body) => {
        if (status === 200) return body[0] === 0x30 ? undefined : '200 without an OCSPResponse';
        return [400, 404, 413, 414, 431].includes(status) ? undefined : `unexpected status ${status}`;
      },
    });
    console.log(`      statuses: ${JSON.stringify(report.byStatus)}; live heap MB: ${report.rssMb.join(' ')}`);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3).map((e) => [e.status, e.body]))).to.deep.equal([]);
    expect(report.sent).to.equal(OCSP_RUNS);
    expect(flat(report.rssMb)).to.be.below(64);
  });

  it(`challenge URL: ${CHALLENGE_RUNS} generated credentials, paths and Accept headers: 401/404/429, never a 500`, async () => {
    const header = fc.oneof(
      fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 })).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
      fc.string({ maxLength: 200 }).map((s) => `Basic ${s}`),
      fc.string({ maxLength: 100 }).map((s) => s.replace(/[\r\n\0]/g, '')),
      fc.constant('Bearer x'),
    );
    const inputs = fc.sample(
      fc.tuple(
        header,
        fc.constantFrom(
          '/certsrv/mscep_admin/',
          '/certsrv/mscep_admin/mscep.dll',
          '/certsrv/mscep_admin/DI000000000000000000/',
          '/certsrv/mscep_admin/%00%ff/',
        ),
        fc.constantFrom('text/html', 'application/json', '*/*'),
      ),
      {
        numRuns: CHALLENGE_RUNS,
        seed: SEED + 3,
      },
    );
    const cases: FuzzCase[] = inputs.map(([auth, p, accept]) => ({
      method: 'GET',
      path: p,
      headers: { Authorization: auth.replace(/[^\x20-\x7e]/g, '?'), Accept: accept },
    }));
    const report = await runFuzzCases(server.url, cases, {
      check: (_c, status) => ([400, 401, 404, 429].includes(status) ? undefined : `unexpected status ${status}`),
    });
    console.log(`      statuses: ${JSON.stringify(report.byStatus)}`);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3).map((e) => [e.status, e.body]))).to.deep.equal([]);
    expect(report.byStatus[200] ?? 0).to.equal(0);
  });

  it(`device trust: ${TRUST_RUNS} generated queries, JSON bodies and mutated proxy certificate headers: 200/400/403, never a 500`, async () => {
    const pemSeed = Buffer.from(leafPem);
    const value = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constant(undefined),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.object({ maxDepth: 1 }),
    );
    const inputs = fc.sample(
      fc.tuple(
        fc.constantFrom('GET', 'POST'),
        fc.record(
          {
            user: value,
            application: value,
            identifier: value,
            platform: fc.oneof(value, fc.constantFrom('windows', 'macos', 'ios', 'android')),
            configurationKey: value,
          },
          { requiredKeys: [] },
        ),
        fc.option(
          mutatedInputs([pemSeed]).map((b) => encodeURIComponent(b.toString('latin1'))),
          { nil: undefined },
        ),
        fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      ),
      { numRuns: TRUST_RUNS, seed: SEED + 4 },
    );
    const cases: FuzzCase[] = inputs.map(([method, fields, certHeader, raw]) => {
      const headers: Record<string, string> = certHeader ? { 'X-SSL-Client-Cert': certHeader.slice(0, 8000) } : {};
      if (method === 'GET') {
        const qs = Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`);
        return { method, path: `/v1/device-trust?${qs.join('&')}`, headers };
      }
      const body = Buffer.from(raw !== undefined && raw.length % 3 === 0 ? raw : JSON.stringify(fields));
      return { method, path: '/v1/device-trust', body, headers: { ...headers, 'Content-Type': 'application/json' } };
    });
    const report = await runFuzzCases(server.url, cases, {
      check: (_c, status) => ([200, 400, 403, 413, 415, 431].includes(status) ? undefined : `unexpected status ${status}`),
    });
    console.log(`      statuses: ${JSON.stringify(report.byStatus)}; live heap MB: ${report.rssMb.join(' ')}`);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3).map((e) => [e.status, e.body]))).to.deep.equal([]);
    expect(flat(report.rssMb)).to.be.below(64);
  });
});
