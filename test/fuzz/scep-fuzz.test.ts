import { expect } from 'chai';
import fc from 'fast-check';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { readFixture } from '../support/fixtures';
import { pooledKeys } from '../support/keys';
import { mutatedInputs } from '../support/mutations';
import { FuzzCase, runFuzzCases } from '../support/fuzz-runner';
import { decodePkiMessage } from '../../src/scep/pki-message.codec';
import { buildPkiMessage } from '../../src/scep/client/scep-client.codec';
import { buildCsr } from '../../src/pki/csr.builder';
import { buildName } from '../../src/pki/names';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { OID } from '../../src/pki/oids';
import { selfSignedFor } from '../../src/scep/client/scep-client';
import { derIntegerFromBigInt, derSequence } from '../../src/pki/der-writer';
import { MessageType } from '../../src/scep/scep.types';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const RUNS = Number(process.env.FUZZ_SCEP_RUNS ?? 40_000);
const INNER_RUNS = Number(process.env.FUZZ_SCEP_INNER_RUNS ?? 1_500);

/**
 * Mutations of valid captured and freshly built SCEP requests against the real server: every answer
 * is a clear 4xx or a signed CertRep, never a 500, and memory stays flat. FUZZ_SEED replays a run.
 */
describe(`fuzz: SCEP PKIOperation (${RUNS} inputs, seed ${SEED})`, function () {
  this.timeout(600_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.destroy());

  it('never answers 500, every 200 is a signed CertRep, memory flat', async () => {
    const cas = await server.client.getCaCertificates();
    const keys = await pooledKeys(3);
    const fresh = await Promise.all(
      keys.map((key, i) =>
        server.client.preparePkcsReq({ cas, subject: [{ type: 'CN', value: `fuzz-${i}` }], challenge: TEST_CHALLENGE, key, transactionId: `fuzz-${i}` }),
      ),
    );
    const seeds = [...fresh.map((r) => r.der), readFixture('scepclient-pkcsreq-des.der'), readFixture('certmonger-pkcsreq-aes.der')];
    const bodies = fc.sample(mutatedInputs(seeds), { numRuns: RUNS, seed: SEED });
    const cases: FuzzCase[] = bodies.map((body, i) =>
      i % 5 === 0
        ? { method: 'GET', path: `/scep?operation=PKIOperation&message=${encodeURIComponent(body.toString('base64'))}` }
        : { method: 'POST', path: '/scep?operation=PKIOperation', body, headers: { 'Content-Type': 'application/x-pki-message' } },
    );
    const report = await runFuzzCases(server.url, cases, {
      check: (_c, status, body) => {
        if (status === 200) {
          try {
            decodePkiMessage(body);
          } catch {
            return '200 without a CertRep';
          }
        } else if (![400, 413, 414, 431].includes(status)) return `unexpected status ${status}`;
        return undefined;
      },
    });
    console.log(`      statuses: ${JSON.stringify(report.byStatus)}; live heap MB over the run: ${report.rssMb.join(' ')}`);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3))).to.deep.equal([]);
    expect(report.sent).to.equal(RUNS);
    // flat: the second half of the run grows the live heap by less than 64 MB
    const half = report.rssMb.slice(Math.floor(report.rssMb.length / 2));
    expect(Math.max(...half) - half[0]!).to.be.below(64);
    // and the server still enrolls
    const ok = await server.client.enroll({
      cas,
      subject: [{ type: 'CN', value: 'after-fuzz' }],
      challenge: TEST_CHALLENGE,
      key: keys[0],
      transactionId: 'after-fuzz',
    });
    expect(ok.status).to.equal(0);
  });

  it('mutated message data inside validly signed and encrypted requests: signed CertRep FAILUREs, never a 500', async () => {
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const subject = buildName([{ type: 'CN', value: 'inner' }]);
    const signer = await selfSignedFor(key, subject);
    const csr = await buildCsr({ subject, key: key, challengePassword: TEST_CHALLENGE });
    const ias = derSequence(cas.ca.subjectDer, derIntegerFromBigInt(12345n));
    const inner = fc.sample(fc.tuple(fc.constantFrom(17, 19, 20, 21, 22, 3, 99), mutatedInputs([csr, ias])), { numRuns: INNER_RUNS, seed: SEED + 1 });
    const cipher = contentCipherByOid(OID.aes128Cbc)!;
    const cases: FuzzCase[] = [];
    for (const [i, [messageType, data]] of inner.entries()) {
      const m = await buildPkiMessage({
        messageType: messageType as MessageType,
        messageData: data,
        transactionId: `inner-${i}`,
        recipient: cas.recipient,
        cipher,
        digest: 'sha256',
        signerCert: signer,
        signerKey: key,
      });
      cases.push({ method: 'POST', path: '/scep?operation=PKIOperation', body: m.der, headers: { 'Content-Type': 'application/x-pki-message' } });
    }
    const report = await runFuzzCases(server.url, cases, {
      check: (_c, status, body) => {
        if (status !== 200) return `expected a CertRep, got ${status}`;
        const rep = decodePkiMessage(body);
        return rep.pkiStatus === 2 || rep.pkiStatus === 0 ? undefined : `pkiStatus ${rep.pkiStatus}`;
      },
    });
    console.log(`      statuses: ${JSON.stringify(report.byStatus)}`);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 3).map((e) => e.body))).to.deep.equal([]);
    expect(report.sent).to.equal(INNER_RUNS);
  });
});
