import { expect } from 'chai';
import * as pkijs from 'pkijs';
import { Database } from '../../src/db/database';
import { dateParam } from '../../src/db/dialect';
import { rawQuery } from '../../src/db/raw-sql';
import { RevocationRepository } from '../../src/db/revocation.repository';
import { createTestDatabase } from '../support/postgres';
import { startTestServer, TestServer } from '../support/test-server';

const CERTS = 300;
const REVOKE = 200;
const serialOf = (i: number) => `5E${i.toString(16).toUpperCase().padStart(6, '0')}`;

/**
 * Each instance loads only the revocations newer than the revision it has seen. Revocations
 * made concurrently through another connection (another instance, or the CLI) while the server's
 * view keeps syncing must all reach it, in OCSP and in the CRL, however the transactions interleave;
 * rows revoked without a revision stamp (before the migration) come with the full load at start.
 */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`revocations loaded incrementally (${dialect})`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let pg: { url: string; drop: () => Promise<void> } | undefined;
    let other: Database;
    let url: string;

    before(async () => {
      if (dialect === 'postgres') pg = await createTestDatabase();
      server = await startTestServer(pg ? { SCEPTER_DATABASE: pg.url } : {});
      url = server.env.SCEPTER_DATABASE!;
      other = await Database.open(url, { migrate: false });
      const now = new Date();
      const at = (d: Date) => dateParam(other.dialect, d);
      for (let i = 0; i < CERTS; i++) {
        await rawQuery(
          other.manager,
          other.dialect,
          'INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            serialOf(i),
            `CN=inc-${i}`,
            `fp${i}`,
            `pk${i}`,
            at(new Date(now.getTime() - 3_600_000)),
            at(new Date(now.getTime() + 86_400_000)),
            Buffer.from([0]),
            'default',
            'valid',
            at(now),
          ],
        );
      }
    });
    after(async () => {
      await other?.close();
      await server?.destroy();
      await pg?.drop();
    });

    it('every concurrent revocation made elsewhere reaches OCSP and the CRL, loading only what changed', async () => {
      const view = server.app.services.revocationView;
      // watch what the view asks the database for (its store is the server's RevocationRepository)
      const store = (view as unknown as { store: RevocationRepository }).store;
      const loads: { since?: number; rows: number }[] = [];
      const load = store.loadRevoked.bind(store);
      store.loadRevoked = async (since?: number) => {
        const r = await load(since);
        loads.push({ since, rows: r.entries.length });
        return r;
      };
      try {
        const elsewhere = new RevocationRepository(other);
        const queue = Array.from({ length: REVOKE }, (_, i) => serialOf(i));
        let revoking = true;
        const syncing = (async () => {
          while (revoking) await view.sync();
        })();
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let s = queue.shift(); s; s = queue.shift()) {
              const r = await elsewhere.revokeSerial(s, 'keyCompromise', new Date());
              expect(r.outcome).to.equal('revoked');
            }
          }),
        );
        revoking = false;
        await syncing;
        await view.sync();
      } finally {
        store.loadRevoked = load;
      }
      for (let i = 0; i < CERTS; i++) {
        const { status } = await view.status(serialOf(i));
        if (i < REVOKE) expect(status, serialOf(i)).to.include({ reason: 'keyCompromise' });
        else expect(status, serialOf(i)).to.equal('good');
      }
      const crl = pkijs.CertificateRevocationList.fromBER(new Uint8Array((await view.crl()).der));
      expect(crl.revokedCertificates ?? []).to.have.length(REVOKE);
      // incremental: no full load after the one at start, and about one row read per revocation
      expect(loads.length, 'the view caught up while revocations were being made').to.be.above(1);
      expect(loads.every((l) => l.since !== undefined)).to.equal(true);
      expect(loads.reduce((n, l) => n + l.rows, 0)).to.be.at.most(REVOKE * 2);
    });

    it('a revocation without a stamp (an instance not yet upgraded) is seen at the next sync', async () => {
      const view = server.app.services.revocationView;
      const at = dateParam(other.dialect, new Date());
      // what the previous version did: revoke, bump the revision, no revocation_revision
      await other.transaction(async (m) => {
        await rawQuery(m, other.dialect, "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = 1 WHERE serial = ?", [
          at,
          serialOf(CERTS - 1),
        ]);
        await rawQuery(m, other.dialect, 'UPDATE crl_state SET revision = revision + 1 WHERE id = 1', []);
      });
      await view.sync();
      expect((await view.status(serialOf(CERTS - 1))).status).to.include({ reason: 'keyCompromise' });
    });

    it('rows revoked without a revision stamp (before the migration) are loaded at start', async () => {
      await server.stop();
      const at = dateParam(other.dialect, new Date());
      await rawQuery(other.manager, other.dialect, "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = 1 WHERE serial IN (?, ?)", [
        at,
        serialOf(REVOKE),
        serialOf(REVOKE + 1),
      ]);
      await rawQuery(other.manager, other.dialect, 'UPDATE crl_state SET revision = revision + 1 WHERE id = 1', []);
      server = await startTestServer(server.env, server.dir);
      const view = server.app.services.revocationView;
      for (const s of [serialOf(0), serialOf(REVOKE), serialOf(REVOKE + 1)]) expect((await view.status(s)).status, s).to.include({ reason: 'keyCompromise' });
      expect((await view.status(serialOf(REVOKE + 2))).status).to.equal('good');
    });
  });
}
