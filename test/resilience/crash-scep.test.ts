import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, TEST_CHALLENGE } from '../support/test-server';
import { startServerProcess } from '../support/server-process';
import { pooledKeys } from '../support/keys';
import { PreparedRequest, ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { Database } from '../../src/db/database';

/**
 * Enrollment load while the server is killed with SIGKILL several times: every certificate a
 * client received is recorded, every recorded certificate can be fetched again by its
 * transactionID, serials never repeat, and the restarted server serves.
 */
describe('crash safety: SIGKILL during enrollment load (SQLite)', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-crash-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loses nothing and issues nothing unfetchable', async () => {
    const port = await freeTcpPort();
    const env = {
      SCEPTER_HTTP_PORT: String(port),
      SCEPTER_HOST: '127.0.0.1',
      SCEPTER_DATABASE: path.join(dir, 'db.sqlite'),
      SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
      SCEPTER_CA_KEY_BITS: '2048',
      SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
    };
    let server = await startServerProcess(env);
    const client = new ScepClient(`http://127.0.0.1:${port}/scep`);
    const cas = await client.getCaCertificates();
    const keys = await pooledKeys(8);
    const requests: PreparedRequest[] = [];
    for (let i = 0; i < 240; i++)
      requests.push(
        await client.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: `crash-${i}` }],
          challenge: TEST_CHALLENGE,
          key: keys[i % 8],
          transactionId: `crash-${i}`,
        }),
      );

    const received = new Map<string, string>(); // transactionId -> serial
    const pending = new Set(requests.map((_, i) => i));
    let interrupted = 0;
    for (let round = 0; round < 6 && pending.size; round++) {
      const kill = round < 4; // four kills mid-load, then let it finish
      const queue = [...pending];
      // the kill comes after 20-60% of this round's answers, so it lands mid-load however fast the server is
      const killAfter = kill ? Math.max(1, Math.floor(queue.length * (0.2 + Math.random() * 0.4))) : Infinity;
      let answered = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (queue.length) {
            const i = queue.shift()!;
            try {
              const r = await client.submit(requests[i]!);
              if (++answered === killAfter) void server.kill('SIGKILL');
              if (r.status === PkiStatus.SUCCESS) {
                const prev = received.get(requests[i]!.transactionId);
                if (prev) expect(r.certificate!.serialHex, 'a retried transaction gets the same certificate').to.equal(prev);
                received.set(requests[i]!.transactionId, r.certificate!.serialHex);
                pending.delete(i);
              }
            } catch {
              // connection refused or reset: the server is down; retried next round
              interrupted++;
            }
          }
        }),
      );
      await server.kill('SIGKILL');
      server = await startServerProcess(env);
    }
    expect(pending.size, 'all enrollments eventually succeed').to.equal(0);
    expect(interrupted, 'the kills really hit requests in flight').to.be.above(0);

    // every recorded certificate is fetchable again by its transaction (same key, same answer)
    for (const r of requests) {
      const again = await client.submit(r);
      expect(again.status).to.equal(PkiStatus.SUCCESS);
      expect(again.certificate!.serialHex).to.equal(received.get(r.transactionId));
    }
    await server.kill('SIGTERM');

    const db = await Database.open(env.SCEPTER_DATABASE);
    try {
      const rows: { serial: string; transaction_id: string }[] = await db.manager.query(
        "SELECT serial, transaction_id FROM certificates WHERE transaction_id LIKE 'crash-%'",
      );
      expect(new Set(rows.map((r) => r.serial)).size).to.equal(rows.length);
      // nothing recorded that no client could fetch: one certificate per transaction, the one received
      expect(rows.length).to.equal(requests.length);
      for (const row of rows) expect(received.get(row.transaction_id)).to.equal(row.serial);
    } finally {
      await db.close();
    }
  });
});
