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

describe('ScepStoreRepository on SQLite: concurrent lookups read together', () => {
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

  it('answers each lookup of a batch as the single read would, and reads them in fewer statements', async () => {
    const insert = (ep: string, tid: string, hash: string, status: number, serial: string | null) =>
      db.manager.query(
        'INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, certificate_serial, created_at, updated_at) VALUES (?, ?, ?, 19, ?, ?, ?, ?)',
        [ep, tid, hash, status, serial, '2026-01-01 00:00:00', '2026-01-01 00:00:00'],
      );
    await insert('ep', 'a', 'ha', PkiStatus.SUCCESS, 'AA');
    await insert('ep', 'b', 'hb', PkiStatus.FAILURE, null);
    await insert('other', 'a', 'hx', PkiStatus.SUCCESS, 'CC'); // same transactionID, another endpoint
    const store = new ScepStoreRepository(db);
    const keys: [string, string][] = [
      ['ep', 'a'],
      ['ep', 'b'],
      ['ep', 'missing'],
      ['other', 'a'],
      ['other', 'b'],
      ['EP', 'a'], // exact match only, as in SQL
      ...Array.from({ length: 100 }, (_, i): [string, string] => ['ep', `none-${i}`]),
    ];
    let statements = 0;
    const query = db.manager.query.bind(db.manager);
    db.manager.query = ((sql: string, params?: unknown[]) => {
      if (/FROM scep_transactions/.test(sql)) statements++;
      return query(sql, params);
    }) as typeof db.manager.query;
    const found = await Promise.all(keys.map(([ep, tid]) => store.findTransaction(ep, tid)));
    db.manager.query = query;
    expect(found[0]).to.include({ publicKeyHash: 'ha', pkiStatus: PkiStatus.SUCCESS, certificateSerial: 'AA' });
    expect(found[1]).to.include({ publicKeyHash: 'hb', pkiStatus: PkiStatus.FAILURE });
    expect(found[2]).to.equal(undefined);
    expect(found[3]).to.include({ publicKeyHash: 'hx', certificateSerial: 'CC' });
    expect(found[4]).to.equal(undefined);
    expect(found[5]).to.equal(undefined);
    expect(found.slice(6).every((f) => f === undefined)).to.equal(true);
    for (const [i, [ep, tid]] of keys.entries()) expect(await store.findTransaction(ep, tid)).to.deep.equal(found[i]);
    // 106 lookups: batches of at most 64, plus the re-reads of the three rows found
    expect(statements).to.be.lessThan(10);
  });
});
