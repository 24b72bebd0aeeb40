import { expect } from 'chai';
import { KeyObject } from 'node:crypto';
import { CaCertificates, PreparedRequest } from '../../src/scep/client/scep-client';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';

/**
 * Threat: an unauthenticated network client sends requests that are refused (wrong or missing
 * challenge, a signer we never issued) to grow the database without limit, or to claim a
 * transactionID before the device that will use it.
 */
describe('security: refused unauthenticated requests leave only bounded traces', function () {
  this.timeout(180_000);
  let server: TestServer;
  let cas: CaCertificates;
  let keys: KeyObject[];
  const name = (cn: string) => [{ type: 'CN', value: cn }];

  before(async () => {
    // wrong challenges by the hundred from one address: the guessing limiter (scep-challenge-guessing) would answer 429
    server = await startTestServer({ SCEPTER_AUTH_MAX_FAILURES: '1000' });
    cas = await server.client.getCaCertificates();
    keys = await pooledKeys(3);
  });
  after(async () => server?.destroy());

  /** rows in every table of the database */
  async function totalRows(): Promise<number> {
    const db = server.app.services.db.manager;
    const tables: { name: string }[] = await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
    let total = 0;
    for (const t of tables) total += Number((await db.query(`SELECT COUNT(*) AS c FROM "${t.name}"`))[0].c);
    return total;
  }

  it('300 refused requests with fresh transactionIDs (wrong challenge, no challenge, unknown signer) add no row', async () => {
    const before = await totalRows();
    const prepared: PreparedRequest[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = i % 3;
      prepared.push(
        await server.client.preparePkcsReq({
          cas,
          subject: name(`flood-${i}`),
          key: keys[0],
          transactionId: `flood-${i}`,
          challenge: kind === 0 ? `wrong-${i}` : undefined,
          // a self-signed certificate is not one we issued: RenewalReq is refused (unknown signer)
          messageType: kind === 2 ? MessageType.RenewalReq : MessageType.PKCSReq,
        }),
      );
    }
    const refused: number[] = [];
    for (let i = 0; i < prepared.length; i += 10) {
      const batch = await Promise.all(prepared.slice(i, i + 10).map((p) => server.client.submit(p)));
      for (const r of batch) if (r.status === PkiStatus.FAILURE && r.signatureValid) refused.push(r.failInfo!);
    }
    expect(refused).to.have.length(300);
    expect(refused.filter((f) => f === FailInfo.badCertId)).to.have.length(100);
    expect(await totalRows()).to.equal(before);
  });

  it('a refusal never reserves its transactionID: a later request with another key and a valid challenge succeeds', async () => {
    const squatter = await server.client.enroll({ cas, subject: name('squat'), challenge: 'wrong-challenge', key: keys[0], transactionId: 'device-tid-1' });
    expect([squatter.status, squatter.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badRequest]);
    const unknownSigner = await server.client.enroll({
      cas,
      subject: name('squat'),
      key: keys[0],
      transactionId: 'device-tid-2',
      messageType: MessageType.RenewalReq,
    });
    expect([unknownSigner.status, unknownSigner.failInfo]).to.deep.equal([PkiStatus.FAILURE, FailInfo.badCertId]);
    for (const transactionId of ['device-tid-1', 'device-tid-2']) {
      const device = await server.client.enroll({ cas, subject: name('device'), challenge: TEST_CHALLENGE, key: keys[1], transactionId });
      expect(device.status, device.failText).to.equal(PkiStatus.SUCCESS);
    }
  });

  it('a refusal is not sticky: the same key retries with a valid challenge and succeeds', async () => {
    const wrong = await server.client.enroll({ cas, subject: name('retry'), challenge: 'wrong-challenge', key: keys[2], transactionId: 'retry-1' });
    expect(wrong.status).to.equal(PkiStatus.FAILURE);
    const right = await server.client.enroll({ cas, subject: name('retry'), challenge: TEST_CHALLENGE, key: keys[2], transactionId: 'retry-1' });
    expect(right.status).to.equal(PkiStatus.SUCCESS);
    const again = await server.client.enroll({ cas, subject: name('retry'), challenge: TEST_CHALLENGE, key: keys[2], transactionId: 'retry-1' });
    expect(again.certificate!.serialHex).to.equal(right.certificate!.serialHex);
  });

  it('a refusal stored by an earlier version binds no key', async () => {
    const at = new Date().toISOString();
    await server.app.services.db.manager.query(
      'INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, fail_info, fail_text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ['default', 'legacy-refused', 'f'.repeat(64), 19, PkiStatus.FAILURE, FailInfo.badRequest, 'challengePassword not accepted', at, at],
    );
    const device = await server.client.enroll({ cas, subject: name('legacy'), challenge: TEST_CHALLENGE, key: keys[1], transactionId: 'legacy-refused' });
    expect(device.status, device.failText).to.equal(PkiStatus.SUCCESS);
    const rows = await server.app.services.db.manager.query('SELECT pki_status FROM scep_transactions WHERE transaction_id = ?', ['legacy-refused']);
    expect(rows.map((r: { pki_status: number }) => Number(r.pki_status))).to.deep.equal([PkiStatus.SUCCESS]);
  });
});
