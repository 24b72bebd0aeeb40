import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../../src/db/database';
import { ScepStoreRepository } from '../../../src/db/scep-store.repository';
import { PkiStatus } from '../../../src/scep/scep.types';

describe('ScepStoreRepository on SQLite: a retry sees committed outcomes only', () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-store-'));
    db = await Database.open(path.join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** an issuance transaction that has written its row and waits; resolves how it ends */
  function openIssuance(commit: boolean) {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let wrote!: () => void;
    const written = new Promise<void>((r) => (wrote = r));
    const done = db
      .transaction(async (m) => {
        await m.query(
          "INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, certificate_serial, created_at, updated_at) VALUES ('ep', 't1', 'h1', 19, 0, 'AB', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        );
        wrote();
        await held;
        if (!commit) throw new Error('rolled back');
      })
      .catch(() => undefined);
    return { written, release, done };
  }

  it('does not answer from a transaction that later rolls back', async () => {
    const store = new ScepStoreRepository(db);
    const tx = openIssuance(false);
    await tx.written;
    // the shared connection shows the uncommitted row to a plain read...
    expect(await db.manager.query("SELECT 1 FROM scep_transactions WHERE transaction_id = 't1'")).to.have.length(1);
    // ...but the store waits for the transaction to end and reads what is committed
    const found = store.findTransaction('ep', 't1');
    tx.release();
    expect(await found).to.equal(undefined);
    await tx.done;
  });

  it('answers from it once it commits', async () => {
    const store = new ScepStoreRepository(db);
    const tx = openIssuance(true);
    await tx.written;
    const found = store.findTransaction('ep', 't1');
    tx.release();
    expect(await found).to.include({ publicKeyHash: 'h1', pkiStatus: PkiStatus.SUCCESS, certificateSerial: 'AB' });
    await tx.done;
  });
});
