import { expect } from 'chai';
import { CaCertificates, ScepClient } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { runScepclient } from '../support/scepclient';
import {
  createIosCerts,
  fetchChallenge,
  getChallengePage,
  httpGet,
  basic,
  IntegrationServer,
  ServerProcess,
  spawnServerProcess,
  startIntegrationServer,
} from './integrations-support';

/**
 * A challenge is consumed by a conditional UPDATE in the issuing transaction, so concurrent
 * enrollments with one challenge yield exactly one certificate, also from two server processes on
 * one SQLite file.
 */
describe('dynamic challenges: single use under concurrency', function () {
  this.timeout(60_000);
  let a: IntegrationServer;
  let b: ServerProcess;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let cas: CaCertificates;

  before(async () => {
    a = await startIntegrationServer({ SCEPTER_CHALLENGE_CACHE_LIMIT: '5' });
    b = await spawnServerProcess(a);
    integ = await createIosCerts(a);
    cas = await a.scepClient(integ.id).getCaCertificates();
  });
  after(async () => {
    await b?.stop();
    await a?.destroy();
  });

  const race = async (clients: ScepClient[], contenders: number, round: string) => {
    const keys = await pooledKeys(contenders);
    const challenge = await fetchChallenge(a, integ);
    const reqs = await Promise.all(
      keys.map((key, i) =>
        a.scepClient(integ.id).preparePkcsReq({
          cas,
          key,
          transactionId: `${round}-${i}`,
          challenge,
          subject: [
            { type: 'OU', value: integ.id },
            { type: 'CN', value: `${round}-${i}` },
          ],
        }),
      ),
    );
    const results = await Promise.all(reqs.map((r, i) => clients[i % clients.length]!.submit(r)));
    const rows = await a.app.services.db.manager.query('SELECT COUNT(*) AS n FROM certificates WHERE transaction_id LIKE ?', [`${round}-%`]);
    return { results, recorded: Number(rows[0].n) };
  };

  it('one server, 8 enrollments with one challenge at once: one certificate, 7 FAILURE badRequest', async () => {
    for (const round of ['one-a', 'one-b', 'one-c']) {
      const { results, recorded } = await race([a.scepClient(integ.id)], 8, round);
      expect(results.filter((r) => r.status === PkiStatus.SUCCESS)).to.have.length(1);
      const failures = results.filter((r) => r.status === PkiStatus.FAILURE);
      expect(failures).to.have.length(7);
      for (const f of failures) {
        expect(f.failInfo).to.equal(FailInfo.badRequest);
        expect(f.failText).to.match(/challengePassword already used/);
      }
      expect(recorded).to.equal(1);
    }
  });

  it('two server processes on one SQLite file, 8 enrollments split between them: one certificate', async () => {
    for (const round of ['two-a', 'two-b', 'two-c', 'two-d', 'two-e']) {
      const { results, recorded } = await race([a.scepClient(integ.id), b.scepClient(integ.id)], 8, round);
      expect(
        results.filter((r) => r.status === PkiStatus.SUCCESS),
        round,
      ).to.have.length(1);
      expect(results.filter((r) => r.status === PkiStatus.FAILURE && r.failInfo === FailInfo.badRequest)).to.have.length(7);
      expect(recorded).to.equal(1);
    }
  });

  it('two scepclient processes with one challenge against the two server processes: one certificate, one FAILURE', async () => {
    const challenge = await fetchChallenge(a, integ);
    const [x, y] = await Promise.all(
      [a.url, b.url].map((url, i) => runScepclient({ url: `${url}/certsrv/mscep/${integ.id}/mscep.dll`, challenge, cn: `scepclient-race-${i}`, ou: integ.id })),
    );
    expect([x!.ok, y!.ok].filter(Boolean)).to.have.length(1);
    expect([x!, y!].find((r) => !r.ok)!.stdout).to.contain('failInfo: badRequest (2)');
  });

  it('the cache limit holds across both processes: 20 concurrent requests for a fresh integration, 5 challenges', async () => {
    const fresh = await createIosCerts(a, 'cache race');
    const auth = { ...basic(fresh.challengeUsername, fresh.challengePassword), Accept: 'application/json' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? getChallengePage(a, fresh.challengeUsername, fresh.challengePassword, { json: true }) : httpGet(`${b.url}/certsrv/mscep_admin/`, auth),
      ),
    );
    expect(answers.filter((r) => r.status === 200)).to.have.length(5);
    expect(answers.filter((r) => r.status === 503)).to.have.length(15);
    expect(await a.app.services.challenges.outstanding(fresh.id)).to.equal(5);
  });
});
