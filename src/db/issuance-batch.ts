import type { EntityManager } from 'typeorm';
import type { Database } from './database';
import { dateParam } from './dialect';
import { rawQuery } from './raw-sql';
import type { IssuanceOutcome, IssuanceRecord } from '../scep/scep.ports';
import { PkiStatus } from '../scep/scep.types';

interface Unit {
  r: IssuanceRecord;
  now: Date;
  resolve(o: IssuanceOutcome): void;
  reject(err: unknown): void;
}

/** Thrown inside a batch to roll it back so that every unit is written on its own instead. */
class BatchDeclined extends Error {}

/**
 * Writes the issuances of concurrent enrollments (SQLite) together: one transaction of a few
 * multi-row statements, whatever the number of enrollments, instead of one transaction of five or
 * so statements each. No caller is answered before the COMMIT that records its certificate.
 *
 * Why: with one SQLite connection, transactions run one after another, and every statement is a
 * round trip through libuv's thread pool and back to a busy event loop (~0.6 ms under load). At
 * three to five statements per enrollment that serial chain, not the CPU, capped throughput near
 * 500 enrollments/s.
 *
 * The statements are the set-wise form of ScepStoreRepository's single path, which stays the
 * reference: a batch that fails in any way (a used challenge, a duplicate transactionID...) is rolled
 * back and each of its enrollments goes through the single path, which gives each the exact outcome
 * it would have had alone. So do enrollments that touch the same row as another one in the batch.
 * Keep both in step when the issuance changes.
 */
export class IssuanceBatcher {
  private queue: Unit[] = [];
  private writing = false;

  constructor(
    private readonly db: Database,
    private readonly alone: (r: IssuanceRecord, now: Date) => Promise<IssuanceOutcome>,
    private readonly maxUnits = 64,
  ) {}

  submit(r: IssuanceRecord, now: Date): Promise<IssuanceOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ r, now, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const batch = this.queue.splice(0, this.maxUnits);
    void this.write(batch).finally(() => {
      this.writing = false;
      this.next();
    });
  }

  private async write(units: Unit[]): Promise<void> {
    const { together, apart } = partition(units);
    if (together.length > 1) {
      try {
        await this.db.transaction((m) => this.writeTogether(m, together));
        for (const u of together) u.resolve('issued');
      } catch {
        apart.unshift(...together); // nothing of the batch was written
      }
    } else {
      apart.unshift(...together);
    }
    for (const u of apart)
      await this.alone(u.r, u.now).then(
        (v) => u.resolve(v),
        (e: unknown) => u.reject(e),
      );
  }

  private async writeTogether(m: EntityManager, units: Unit[]): Promise<void> {
    const d = this.db.dialect;
    const sql = (text: string, params: unknown[]) => rawQuery<{ affected?: number }>(m, d, text, params);
    const at = (u: Unit) => dateParam(d, u.now);
    const each = (list: Unit[], clause: string, values: (u: Unit) => unknown[]) => ({
      where: list.map(() => `(${clause})`).join(' OR '),
      params: list.flatMap(values),
    });

    const redeeming = units.filter((u) => u.r.challengeId);
    if (redeeming.length) {
      const set = redeeming.map(() => 'WHEN ? THEN ?').join(' ');
      const w = each(redeeming, 'id = ? AND expires_at > ?', (u) => [u.r.challengeId, at(u)]);
      const res = await rawQuery<{ affected?: number }>(
        m,
        d,
        `UPDATE challenges SET used_at = CASE id ${set} END WHERE used_at IS NULL AND (${w.where})`,
        [...redeeming.flatMap((u) => [u.r.challengeId, at(u)]), ...w.params],
        true,
      );
      if (res.affected !== redeeming.length) throw new BatchDeclined('a challenge is gone');
    }
    const failures = each(units, 'endpoint_id = ? AND transaction_id = ?', (u) => [u.r.endpointId, u.r.transactionId]);
    await sql(`DELETE FROM scep_transactions WHERE pki_status = ? AND (${failures.where})`, [PkiStatus.FAILURE, ...failures.params]);
    await sql(
      `INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, certificate_serial, created_at, updated_at) VALUES ${units.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      units.flatMap((u) => [u.r.endpointId, u.r.transactionId, u.r.publicKeyHash, u.r.messageType, PkiStatus.SUCCESS, u.r.certificate.serialHex, at(u), at(u)]),
    );
    const devices = units.filter((u) => u.r.integrationId && u.r.deviceId);
    if (devices.length) {
      const w = each(devices, 'integration_id = ? AND device_id = ?', (u) => [u.r.integrationId, u.r.deviceId]);
      await sql(`UPDATE certificates SET status = ? WHERE status = ? AND (${w.where})`, ['superseded', 'valid', ...w.params]);
    }
    await sql(
      `INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, transaction_id, endpoint_id, integration_id, device_id, status, ca_generation, created_at) VALUES ${units.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      units.flatMap((u) => {
        const c = u.r.certificate;
        return [
          c.serialHex,
          c.subject.slice(0, 1024),
          c.fingerprintSha256,
          u.r.publicKeyHash,
          dateParam(d, c.notBefore),
          dateParam(d, c.notAfter),
          c.der,
          u.r.transactionId,
          u.r.endpointId,
          u.r.integrationId ?? null,
          u.r.deviceId ?? null,
          'valid',
          u.r.caGeneration ?? 1,
          at(u),
        ];
      }),
    );
  }
}

/** Units that can share a batch (distinct rows), and the rest: renewals, and repeats of a row in the batch. */
function partition(units: Unit[]): { together: Unit[]; apart: Unit[] } {
  const seen = new Set<string>();
  const together: Unit[] = [];
  const apart: Unit[] = [];
  for (const u of units) {
    const r = u.r;
    const keys = [`t:${r.endpointId}\0${r.transactionId}`, `s:${r.certificate.serialHex}`];
    if (r.challengeId) keys.push(`c:${r.challengeId}`);
    if (r.integrationId && r.deviceId) keys.push(`d:${r.integrationId}\0${r.deviceId}`);
    if (r.supersedes?.length || r.renews || keys.some((k) => seen.has(k))) {
      apart.push(u);
      continue;
    }
    for (const k of keys) seen.add(k);
    together.push(u);
  }
  return { together, apart };
}
