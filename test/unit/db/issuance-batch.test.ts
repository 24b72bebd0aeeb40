import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../../src/db/database';
import { IssuanceBatcher } from '../../../src/db/issuance-batch';
import { ScepStoreRepository } from '../../../src/db/scep-store.repository';
import type { ParsedCertificate } from '../../../src/pki/certificate';
import type { IssuanceOutcome, IssuanceRecord } from '../../../src/scep/scep.ports';

const T0 = 1764340000000;
const ts = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Issuances that exercise every step: challenges (good, used, expired, repeated), devices, refusals, duplicates. */
function records(messy: boolean): IssuanceRecord[] {
  const out: IssuanceRecord[] = [];
  const add = (o: Partial<IssuanceRecord> = {}) => {
    const n = out.length;
    const certificate = {
      serialHex: `AB${n}`,
      subject: `CN=d${n}`,
      fingerprintSha256: `f${n}`,
      notBefore: new Date(T0),
      notAfter: new Date(T0 + 1e9),
      der: Buffer.from(`der${n}`),
    } as unknown as ParsedCertificate;
    out.push({ endpointId: 'ep', transactionId: `t${n}`, messageType: 19, certificate, publicKeyHash: `h${n}`, ...o });
  };
  for (let i = 0; i < 8; i++) add();
  for (let i = 0; i < 4; i++) add({ endpointId: 'int1', integrationId: 'int1', deviceId: `dev${i}`, challengeId: `c${i}` });
  add({ endpointId: 'int1', integrationId: 'int1', deviceId: 'devOld', challengeId: 'c6' }); // supersedes a stored certificate
  add({ transactionId: 'tFAIL', publicKeyHash: 'hF' }); // replaces its own refusal
  if (messy) {
    add({ transactionId: 't3' }); // duplicate transactionID
    add({ transactionId: 'tFAIL2', publicKeyHash: 'other' }); // refusal of another key
    add({ endpointId: 'int1', integrationId: 'int1', deviceId: 'devX', challengeId: 'c1' }); // challenge used above
    add({ endpointId: 'int1', integrationId: 'int1', deviceId: 'devY', challengeId: 'cExpired' });
    add({ endpointId: 'int1', integrationId: 'int1', deviceId: 'dev0', challengeId: 'c5' }); // same device again
  }
  return out;
}

async function outcome(concurrent: boolean, messy: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-batch-'));
  const db = await Database.open(path.join(dir, 'db.sqlite'));
  try {
    const q = (sql: string, p: unknown[] = []) => db.manager.query(sql, p);
    for (const [id, expires] of [
      ['c0', T0 + 1e7],
      ['c1', T0 + 1e7],
      ['c2', T0 + 1e7],
      ['c3', T0 + 1e7],
      ['c5', T0 + 1e7],
      ['c6', T0 + 1e7],
      ['cExpired', T0 - 1],
    ] as const) {
      await q('INSERT INTO challenges (id, integration_id, challenge_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)', [
        id,
        'int1',
        `hash-${id}`,
        ts(T0 - 100),
        ts(expires),
      ]);
    }
    await q(
      "INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, fail_info, fail_text, created_at, updated_at) VALUES ('ep', 'tFAIL', 'hF', 19, 2, 2, 'x', ?, ?), ('ep', 'tFAIL2', 'hF2', 19, 2, 2, 'x', ?, ?)",
      [ts(T0), ts(T0), ts(T0), ts(T0)],
    );
    await q(
      "INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, transaction_id, endpoint_id, integration_id, device_id, status, created_at) VALUES ('OLD', 'CN=old', 'f', 'h', ?, ?, x'00', 'told', 'int1', 'int1', 'devOld', 'valid', ?)",
      [ts(T0 - 1e9), ts(T0 + 1e9), ts(T0 - 1e9)],
    );
    const store = new ScepStoreRepository(db);
    const now = new Date(T0);
    const recs = records(messy);
    const outs: IssuanceOutcome[] = [];
    if (concurrent) outs.push(...(await Promise.all(recs.map((r) => store.recordIssuance(r, now)))));
    else for (const r of recs) outs.push(await store.recordIssuance(r, now));
    return {
      outs,
      certificates: await q(
        'SELECT serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, hex(der) AS der, transaction_id, endpoint_id, integration_id, device_id, status, created_at FROM certificates ORDER BY serial',
      ),
      transactions: await q(
        'SELECT endpoint_id, transaction_id, public_key_hash, message_type, pki_status, fail_info, fail_text, certificate_serial, created_at, updated_at FROM scep_transactions ORDER BY endpoint_id, transaction_id',
      ),
      challenges: await q('SELECT id, used_at FROM challenges ORDER BY id'),
    };
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('db/issuance-batch: concurrent issuances written together', () => {
  let batched = 0;
  // the real method, called with the batcher as `this` by the counting stand-in below
  // oxlint-disable-next-line typescript/unbound-method
  const write = (IssuanceBatcher.prototype as unknown as { writeTogether(m: unknown, u: unknown[]): Promise<void> }).writeTogether;
  before(() => {
    (IssuanceBatcher.prototype as unknown as { writeTogether: typeof write }).writeTogether = async function (this: unknown, m, u) {
      await write.call(this, m, u);
      batched += u.length;
    };
  });
  after(() => {
    (IssuanceBatcher.prototype as unknown as { writeTogether: typeof write }).writeTogether = write;
  });

  it('leaves exactly the rows that one-by-one issuance leaves, with the same outcomes', async () => {
    batched = 0;
    const alone = await outcome(false, false);
    expect(batched).to.equal(0);
    const together = await outcome(true, false);
    expect(batched).to.be.greaterThan(5); // the batch path really ran
    expect(together).to.deep.equal(alone);
    expect(alone.outs.every((o) => o === 'issued')).to.equal(true);
  });

  it('falls back to one-by-one when any issuance of a batch is refused, with identical results', async () => {
    const alone = await outcome(false, true);
    const together = await outcome(true, true);
    expect(together).to.deep.equal(alone);
    expect(alone.outs).to.include('duplicate-transaction').and.to.include('challenge-used');
  });
});
