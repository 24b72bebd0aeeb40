import { expect } from 'chai';
import { createTestDatabase } from '../support/postgres';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { PkiStatus } from '../../src/scep/scep.types';

/**
 * The same code on PostgreSQL. On a machine without PostgreSQL this suite fails with the reason
 * (set SCEPTER_TEST_PG_URL to point it elsewhere): a silently skipped suite would check nothing.
 */
describe('PostgreSQL: migrations and SCEP enrollment', function () {
  let server: TestServer;
  let drop: () => Promise<void>;
  before(async function () {
    const db = await createTestDatabase();
    drop = db.drop;
    server = await startTestServer({ SCEPTER_DATABASE: db.url });
  });
  after(async () => {
    await server?.destroy();
    await drop?.();
  });

  it('runs the migrations and records enrollments with timestamptz/bytea columns', async () => {
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const r = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'pg-1' }], challenge: TEST_CHALLENGE, key, transactionId: 'pg-1' });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
    const again = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'pg-1' }], challenge: TEST_CHALLENGE, key, transactionId: 'pg-1' });
    expect(again.certificate!.serialHex).to.equal(r.certificate!.serialHex);
    const rows = await server.app.services.db.manager.query('SELECT der, not_after FROM certificates WHERE serial = $1', [r.certificate!.serialHex]);
    expect(Buffer.isBuffer(rows[0].der)).to.equal(true);
    expect(rows[0].not_after).to.be.instanceOf(Date);
    const cols = await server.app.services.db.manager.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'certificates' AND column_name IN ('der', 'not_after')",
    );
    expect(Object.fromEntries(cols.map((c: { column_name: string; data_type: string }) => [c.column_name, c.data_type]))).to.deep.equal({
      der: 'bytea',
      not_after: 'timestamp with time zone',
    });
  });

  it('keeps serials unique and answers a repeated transaction under concurrent load', async () => {
    const cas = await server.client.getCaCertificates();
    const keys = await pooledKeys(8);
    const reqs = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        server.client.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: `pgc-${i}` }],
          challenge: TEST_CHALLENGE,
          key: keys[i % 8],
          transactionId: `pgc-${i % 20}`,
        }),
      ),
    );
    const results = await Promise.all(reqs.map((r) => server.client.submit(r)));
    // requests i and i+20 share a transactionID but not a key ((i+20) % 8 != i % 8), sent at once:
    // exactly one of each pair may be issued, the other refused
    const byTid = new Map<string, Set<string>>();
    results.forEach((r, i) => {
      const tid = `pgc-${i % 20}`;
      if (r.status === PkiStatus.SUCCESS) byTid.set(tid, (byTid.get(tid) ?? new Set()).add(r.certificate!.serialHex));
    });
    expect(byTid.size).to.equal(20);
    for (const serials of byTid.values()) expect(serials.size).to.equal(1);
    expect(results.filter((r) => r.status === PkiStatus.SUCCESS)).to.have.length(20);
    const [{ n }] = await server.app.services.db.manager.query("SELECT COUNT(*)::int AS n FROM certificates WHERE transaction_id LIKE 'pgc-%'");
    expect(n).to.equal(byTid.size);
  });
});
