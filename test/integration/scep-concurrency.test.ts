import { expect } from 'chai';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { PreparedRequest } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';

describe('SCEP concurrency', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.destroy());

  it('200 enrollments at concurrency 32: 200 certificates, distinct serials, all recorded, no failure', async () => {
    const cas = await server.client.getCaCertificates();
    const keys = await pooledKeys(8);
    // distinct transactionIDs; keys may repeat (the server does not require distinct keys)
    const requests: PreparedRequest[] = [];
    for (let i = 0; i < 200; i++) {
      requests.push(
        await server.client.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: `conc-${i}` }],
          challenge: TEST_CHALLENGE,
          key: keys[i % keys.length],
          transactionId: `conc-${i}`,
        }),
      );
    }
    const serials: string[] = [];
    let failures = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < requests.length) {
          const r = await server.client.submit(requests[next++]!);
          if (r.status === PkiStatus.SUCCESS && r.certificate) serials.push(r.certificate.serialHex);
          else failures++;
        }
      }),
    );
    expect(failures).to.equal(0);
    expect(serials).to.have.length(200);
    expect(new Set(serials).size).to.equal(200);
    const [{ n }] = await server.app.services.db.manager.query("SELECT COUNT(*) AS n FROM certificates WHERE transaction_id LIKE 'conc-%'");
    expect(Number(n)).to.equal(200);
    const rows: { serial: string }[] = await server.app.services.db.manager.query("SELECT serial FROM certificates WHERE transaction_id LIKE 'conc-%'");
    expect(new Set(rows.map((r) => r.serial))).to.deep.equal(new Set(serials));
  });
});
