import { expect } from 'chai';
import { CaCertificates } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { createTestDatabase } from '../support/postgres';
import { createIosCerts, fetchChallenge, getChallengePage, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';

/** Integrations, challenges, groups and audit on PostgreSQL, where transactions really run concurrently. */
describe('PostgreSQL: integrations, dynamic challenges, admin tables', function () {
  this.timeout(60_000);
  let a: IntegrationServer;
  let b: IntegrationServer;
  let drop: () => Promise<void>;
  let cas: CaCertificates;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;

  before(async function () {
    const db = await createTestDatabase();
    drop = db.drop;
    a = await startIntegrationServer({ SCEPTER_DATABASE: db.url, SCEPTER_CHALLENGE_CACHE_LIMIT: '50' });
    b = await a.sibling();
    integ = await createIosCerts(a);
    cas = await a.scepClient(integ.id).getCaCertificates();
  });
  after(async () => {
    await b?.stop();
    await a?.destroy();
    await drop?.();
  });

  it('creates the tables with PostgreSQL types and enrolls through an integration', async () => {
    const cols = await a.app.services.db.manager.query(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_name IN ('challenges', 'audit_log') AND column_name IN ('expires_at', 'details')",
    );
    expect(cols.map((c: { column_name: string; data_type: string }) => `${c.column_name}:${c.data_type}`).sort()).to.deep.equal([
      'details:text',
      'expires_at:timestamp with time zone',
    ]);
    const [key] = await pooledKeys(1);
    const r = await a.scepClient(integ.id).enroll({
      cas,
      key,
      transactionId: 'pg-int-1',
      challenge: await fetchChallenge(a, integ),
      subject: [
        { type: 'OU', value: integ.id },
        { type: 'CN', value: 'PG-UDID' },
      ],
    });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
    const [row] = await a.app.services.db.manager.query('SELECT device_id, integration_id FROM certificates WHERE serial = $1', [r.certificate!.serialHex]);
    expect(row).to.deep.equal({ device_id: 'PG-UDID', integration_id: integ.id });
  });

  it('one challenge, 8 concurrent enrollments over two instances: one certificate', async () => {
    const keys = await pooledKeys(8);
    for (const round of ['pg-race-a', 'pg-race-b']) {
      const challenge = await fetchChallenge(a, integ);
      const reqs = await Promise.all(
        keys.map((key, i) =>
          a.scepClient(integ.id).preparePkcsReq({
            cas,
            key,
            challenge,
            transactionId: `${round}-${i}`,
            subject: [
              { type: 'OU', value: integ.id },
              { type: 'CN', value: `${round}-${i}` },
            ],
          }),
        ),
      );
      const results = await Promise.all(reqs.map((r, i) => (i % 2 ? a : b).scepClient(integ.id).submit(r)));
      expect(results.filter((r) => r.status === PkiStatus.SUCCESS)).to.have.length(1);
      expect(results.filter((r) => r.failInfo === FailInfo.badRequest)).to.have.length(7);
    }
  });

  it('refuses an expired challenge (timestamptz comparisons)', async () => {
    const challenge = await fetchChallenge(a, integ);
    const [key] = await pooledKeys(1);
    a.clock.advance(61 * 60_000);
    try {
      const r = await a.scepClient(integ.id).enroll({
        cas,
        key,
        transactionId: 'pg-late',
        challenge,
        subject: [
          { type: 'OU', value: integ.id },
          { type: 'CN', value: 'PG-LATE' },
        ],
      });
      expect([r.status, r.failText]).to.deep.equal([PkiStatus.FAILURE, 'challengePassword expired']);
    } finally {
      a.clock.advance(-61 * 60_000);
    }
  });

  it('keeps the cache cap bounded under concurrent minting from two instances', async () => {
    const fresh = await createIosCerts(a, 'pg cache');
    const answers = await Promise.all(
      Array.from({ length: 80 }, (_, i) => getChallengePage(i % 2 ? a : b, fresh.challengeUsername, fresh.challengePassword, { json: true })),
    );
    const ok = answers.filter((r) => r.status === 200).length;
    // READ COMMITTED: concurrent transactions may overshoot by those in flight, never unbounded
    expect(ok).to.be.within(50, 60);
    expect(answers.filter((r) => r.status === 503)).to.have.length(80 - ok);
  });

  it('groups, status and the audit log', async () => {
    await a.app.services.groups.create('pg-pilots', TEST_ACTOR);
    await a.app.services.groups.addMember('pg-pilots', 'carol', TEST_ACTOR);
    const ios = await a.app.services.integrations.create({ type: 'ios', name: 'pg ios' }, TEST_ACTOR);
    await a.app.services.integrations.setStatus(ios.id, 'test-group', 'pg-pilots', TEST_ACTOR);
    expect(await b.app.services.integrations.isActiveFor(ios.id, 'carol')).to.equal(true);
    const entries = await a.app.services.audit.list({ limit: 10 });
    expect(entries.map((e) => e.action).slice(-4)).to.deep.equal(['group.create', 'group.add-member', 'integration.create', 'integration.status']);
    expect(entries[entries.length - 1]!.details).to.deep.equal({ status: 'test-group', group: 'pg-pilots' });
  });
});
