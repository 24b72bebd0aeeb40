import { expect } from 'chai';
import { Client } from 'pg';
import { startPgCluster, PgCluster } from '../support/pg-cluster';
import { startServerProcess } from '../support/server-process';
import { pooledKeys } from '../support/keys';
import { TEST_CHALLENGE } from '../support/test-server';
import { PreparedRequest, ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';

const TOTAL = 400;
/**
 * Kill instance A once this many answers have arrived (and its previous restart is over), then
 * restart it at once. Answers count retries too: the load goes on, replaying transactions that
 * already succeeded, until every kill has happened, however slowly A restarts.
 */
const KILL_AT = [50, 130, 210, 290];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Crash safety where it matters most: two instances on one PostgreSQL behind nginx, one of
 * them SIGKILLed four times while enrollments flow through the load balancer (on PostgreSQL every
 * issuance is its own transaction, unlike SQLite's batches). Clients retry what failed with the same
 * transactionID and key. Afterwards: everything any client received is recorded, every recorded
 * certificate is fetched again by its transactionID, no serial repeats, the killed instance serves.
 */
describe('crash safety: SIGKILL of one of two instances on PostgreSQL during enrollment load', function () {
  this.timeout(300_000);
  let c: PgCluster;
  after(async () => c?.stop());

  it('loses nothing, issues nothing unfetchable, and the killed instance comes back', async () => {
    c = await startPgCluster(2);
    const [a] = c.instances;
    const lb = new ScepClient(`${c.url}/scep`);
    const cas = await lb.getCaCertificates();
    const keys = await pooledKeys(8);
    const requests: PreparedRequest[] = [];
    for (let i = 0; i < TOTAL; i++)
      requests.push(
        await lb.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: `pgcrash-${i}` }],
          challenge: TEST_CHALLENGE,
          key: keys[i % 8]!,
          transactionId: `pgcrash-${i}`,
        }),
      );

    const received = new Map<string, string>(); // transactionId -> serial
    const queue = requests.map((_, i) => i);
    let answers = 0;
    let interrupted = 0;
    let kills = 0;
    let restarting: Promise<void> | undefined;
    const maybeKill = () => {
      if (restarting || kills >= KILL_AT.length || answers < KILL_AT[kills]!) return;
      kills++;
      restarting = (async () => {
        await a!.proc.kill('SIGKILL');
        a!.proc = await startServerProcess(a!.env);
      })().finally(() => (restarting = undefined));
    };
    const finished = () => received.size === TOTAL && kills === KILL_AT.length && !restarting;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (!finished()) {
          // all sent at least once but kills remain: replay one (a client retry must get the same certificate)
          const i = queue.shift() ?? Math.floor(Math.random() * TOTAL);
          const tid = requests[i]!.transactionId;
          try {
            const r = await lb.submit(requests[i]!);
            expect(r.status, `${tid}: ${r.failText}`).to.equal(PkiStatus.SUCCESS);
            const prev = received.get(tid);
            if (prev) expect(r.certificate!.serialHex, 'a retried transaction gets the same certificate').to.equal(prev);
            received.set(tid, r.certificate!.serialHex);
            answers++;
            maybeKill();
          } catch (err) {
            if ((err as Error).name === 'AssertionError') throw err;
            interrupted++; // 502 from nginx: the request was in flight on the killed instance
            queue.push(i);
            await sleep(50);
          }
        }
      }),
    );
    await restarting;
    expect(kills, 'every planned kill happened mid-load').to.equal(KILL_AT.length);
    // a request cut off on the killed instance reaches the client as a 502, or nginx retries it on the
    // other instance (idempotent GETs) and logs the cut-off connection
    const cutOff = c.nginxErrors().match(/upstream prematurely closed|Connection reset by peer/g)?.length ?? 0;
    expect(interrupted + cutOff, 'the kills really hit requests in flight').to.be.above(0);

    // the killed instance serves again, on its own (not through nginx)
    const direct = new ScepClient(`${a!.url}/scep`);
    expect(await direct.getCaCaps()).to.include('POSTPKIOperation');
    const fresh = await direct.enroll({
      cas,
      key: keys[0],
      challenge: TEST_CHALLENGE,
      transactionId: 'pgcrash-after',
      subject: [{ type: 'CN', value: 'pgcrash-after' }],
    });
    expect(fresh.status).to.equal(PkiStatus.SUCCESS);

    // every recorded certificate is fetchable again by its transaction (same key, same answer)
    for (const r of requests) {
      const again = await lb.submit(r);
      expect(again.status).to.equal(PkiStatus.SUCCESS);
      expect(again.certificate!.serialHex, r.transactionId).to.equal(received.get(r.transactionId));
    }

    const db = new Client({ connectionString: c.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ serial: string; transaction_id: string }>(
        "SELECT serial, transaction_id FROM certificates WHERE transaction_id LIKE 'pgcrash-%'",
      );
      expect(new Set(rows.map((r) => r.serial)).size, 'no duplicate serials').to.equal(rows.length);
      // nothing recorded that no client could fetch: one certificate per transaction, the one received
      expect(rows.length).to.equal(TOTAL + 1);
      for (const row of rows.filter((r) => r.transaction_id !== 'pgcrash-after'))
        expect(received.get(row.transaction_id), row.transaction_id).to.equal(row.serial);
    } finally {
      await db.end();
    }
  });
});
