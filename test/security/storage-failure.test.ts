import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/shared/logger';
import { CaCertificates } from '../../src/scep/client/scep-client';
import { FailInfo, MessageType, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { createTestDatabase } from '../support/postgres';
import { checkpointWal } from '../support/sqlite-checkpoint';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { createIosCerts, getChallengePage, IntegrationServer, TestClock, TEST_ACTOR } from '../integration/integrations-support';

const DAY = 86_400_000;
const STORAGE_TEXT = 'storage temporarily unavailable, retry later';

/** A pino destination that keeps the lines, to check that the cause of a failure is logged. */
function capturedLogs(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

/** The challenge URL of `server` (startTestServer's shape, as the integration helpers expect it). */
const asIntegrationServer = (s: TestServer, clock: TestClock) => ({ ...s, clock }) as unknown as IntegrationServer;

async function adminPost(server: TestServer, key: string, p: string, body: unknown): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(`${server.url}${p}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

/**
 * Threat: the disk fills up (logs, a flood of requests) or the database goes away. The server must
 * say "try later" (a signed CertRep FAILURE once a SCEP request is decrypted, else HTTP 503 with
 * Retry-After), log the cause, never answer 500, and never hand out a certificate it did not record.
 */
describe('security: a full disk or a failed database write', function () {
  this.timeout(180_000);

  describe('SQLite on a small tmpfs that fills up', () => {
    const clock = new TestClock();
    const logs = capturedLogs();
    let base: string;
    let mnt: string;
    let server: TestServer;
    let cas: CaCertificates;
    let keys: KeyObject[];
    let ownerKey: string;
    let integ: Awaited<ReturnType<typeof createIosCerts>>;
    const filler = () => path.join(mnt, 'filler');

    before(async () => {
      base = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-full-'));
      mnt = path.join(base, 'db');
      fs.mkdirSync(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
      server = await startTestServer({ SCEPTER_DATABASE: path.join(mnt, 'scepter.sqlite'), SCEPTER_LOG_LEVEL: 'warn' }, base, {
        clock,
        logger: createLogger('warn', logs),
      });
      cas = await server.client.getCaCertificates();
      keys = await pooledKeys(3);
      ownerKey = (await server.app.services.apiKeys.create('owner', TEST_ACTOR)).key;
      integ = await createIosCerts(asIntegrationServer(server, clock), 'full disk');
    });
    afterEach(() => fs.rmSync(filler(), { force: true }));
    after(async () => {
      await server?.stop();
      if (mnt) execFileSync('umount', [mnt]);
      if (base) fs.rmSync(base, { recursive: true, force: true });
    });

    /** Empties the WAL (so the next write must grow a file), then fills every free block. */
    async function fillDisk(): Promise<void> {
      await checkpointWal(server.app.services.db, 'TRUNCATE');
      const fd = fs.openSync(filler(), 'w');
      try {
        for (const size of [1 << 20, 4096, 512, 1]) {
          try {
            for (;;) fs.writeSync(fd, Buffer.alloc(size));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    const certificateCount = async () => Number((await server.app.services.db.manager.query('SELECT COUNT(*) AS c FROM certificates'))[0].c);

    it('SCEP enrollment: a signed CertRep FAILURE (not a 500), the cause logged, no certificate; the same request succeeds once there is room', async () => {
      const req = await server.client.preparePkcsReq({
        cas,
        subject: [{ type: 'CN', value: 'disk-full' }],
        challenge: TEST_CHALLENGE,
        key: keys[0],
        transactionId: 'disk-full-1',
      });
      const before = await certificateCount();
      await fillDisk();
      logs.lines.length = 0;
      const refused = await server.client.submit(req);
      expect([refused.status, refused.failInfo, refused.failText, refused.signatureValid]).to.deep.equal([
        PkiStatus.FAILURE,
        FailInfo.badRequest,
        STORAGE_TEXT,
        true,
      ]);
      expect(refused.certificate).to.equal(undefined);
      expect(logs.lines.join('\n')).to.match(/SQLITE_FULL|database or disk is full/);

      fs.rmSync(filler());
      expect(await certificateCount()).to.equal(before);
      const issued = await server.client.submit(req);
      expect(issued.status, issued.failText).to.equal(PkiStatus.SUCCESS);
      const rows = await server.app.services.db.manager.query('SELECT serial FROM certificates WHERE subject = ?', ['CN=disk-full']);
      expect(rows).to.deep.equal([{ serial: issued.certificate!.serialHex }]);
    });

    it('renewal: refused while the disk is full and nothing half-written (the old certificate stays valid); renews afterwards', async () => {
      const first = await server.client.enroll({
        cas,
        subject: [{ type: 'CN', value: 'disk-renew' }],
        challenge: TEST_CHALLENGE,
        key: keys[1],
        transactionId: 'disk-renew-1',
      });
      const held = { certificate: first.certificate!, key: keys[1]! };
      clock.offsetMs = held.certificate.notAfter.getTime() - 5 * DAY - Date.now();
      try {
        const req = await server.client.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: 'disk-renew' }],
          key: keys[2],
          messageType: MessageType.RenewalReq,
          signer: held,
          transactionId: 'disk-renew-2',
        });
        await fillDisk();
        const refused = await server.client.submit(req);
        expect([refused.status, refused.failText]).to.deep.equal([PkiStatus.FAILURE, STORAGE_TEXT]);
        fs.rmSync(filler());
        const statuses = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE subject = ? ORDER BY id', ['CN=disk-renew']);
        expect(statuses).to.deep.equal([{ status: 'valid' }]);
        const renewed = await server.client.submit(req);
        expect(renewed.status, renewed.failText).to.equal(PkiStatus.SUCCESS);
      } finally {
        clock.offsetMs = 0;
      }
    });

    it('challenge URL and admin API: 503 with Retry-After, the cause logged, never 500', async () => {
      await fillDisk();
      logs.lines.length = 0;
      const page = await getChallengePage(asIntegrationServer(server, clock), integ.challengeUsername, integ.challengePassword);
      expect(page.status).to.equal(503);
      expect(page.headers['retry-after']).to.equal('30');
      expect(page.body.toString()).to.not.match(/SQLITE|sqlite|at /);
      const created = await adminPost(server, ownerKey, '/admin/v1/integrations', { type: 'ios-certs', name: 'while full', allowLegacy: true });
      expect([created.status, created.retryAfter]).to.deep.equal([503, '30']);
      expect(JSON.parse(created.body)).to.deep.equal({ error: 'storage_unavailable', message: STORAGE_TEXT });
      expect(logs.lines.filter((l) => /SQLITE_FULL|disk is full/.test(l)).length).to.be.greaterThanOrEqual(2);

      fs.rmSync(filler());
      expect((await getChallengePage(asIntegrationServer(server, clock), integ.challengeUsername, integ.challengePassword)).status).to.equal(200);
      expect((await adminPost(server, ownerKey, '/admin/v1/integrations', { type: 'ios-certs', name: 'after full', allowLegacy: true })).status).to.be.oneOf([
        200, 201,
      ]);
    });
  });

  describe('PostgreSQL dropped underneath the running server', () => {
    let server: TestServer;
    let drop: (() => Promise<void>) | undefined;
    const logs = capturedLogs();

    before(async () => {
      const pg = await createTestDatabase();
      drop = pg.drop;
      server = await startTestServer({ SCEPTER_DATABASE: pg.url, SCEPTER_LOG_LEVEL: 'warn' }, undefined, { logger: createLogger('warn', logs) });
    });
    after(async () => {
      await server?.destroy().catch(() => undefined);
      await drop?.().catch(() => undefined);
    });

    it('SCEP: signed FAILURE; admin API: 503 with Retry-After; the process keeps serving', async () => {
      const cas = await server.client.getCaCertificates();
      const [key] = await pooledKeys(1);
      const owner = (await server.app.services.apiKeys.create('owner', TEST_ACTOR)).key;
      const ok = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'pg-before' }], challenge: TEST_CHALLENGE, key, transactionId: 'pg-1' });
      expect(ok.status).to.equal(PkiStatus.SUCCESS);

      await drop!();
      logs.lines.length = 0;
      const refused = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'pg-gone' }], challenge: TEST_CHALLENGE, key, transactionId: 'pg-2' });
      expect([refused.status, refused.failText, refused.signatureValid]).to.deep.equal([PkiStatus.FAILURE, STORAGE_TEXT, true]);
      const created = await adminPost(server, owner, '/admin/v1/integrations', { type: 'ios-certs', name: 'pg gone', allowLegacy: true });
      expect([created.status, created.retryAfter]).to.deep.equal([503, '30']);
      expect(logs.lines.length).to.be.greaterThan(0);
      // still up: answers what needs no database
      expect((await fetch(`${server.scepUrl}?operation=GetCACaps`)).status).to.equal(200);
    });
  });
});
