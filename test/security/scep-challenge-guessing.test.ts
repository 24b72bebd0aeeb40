import { expect } from 'chai';
import http from 'node:http';
import { openCertRep } from '../../src/scep/client/scep-client.codec';
import type { CaCertificates, PreparedRequest } from '../../src/scep/client/scep-client';
import { FailInfo, PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { startTestServer, TEST_CHALLENGE, type TestServer } from '../support/test-server';
import { createIosCerts, fetchChallenge, startIntegrationServer, type IntegrationServer } from '../integration/integrations-support';

const ATTACKER = '127.0.0.2';
const NEIGHBOUR = '127.0.0.3';

/** POSTs a prepared PKIOperation from `from`; the HTTP status, Retry-After, and the CertRep when 200. */
async function submitFrom(scepUrl: string, from: string, req: PreparedRequest) {
  const res = await new Promise<{ status: number; retryAfter?: string; body: Buffer }>((resolve, reject) => {
    const r = http.request(
      `${scepUrl}?operation=PKIOperation`,
      { method: 'POST', localAddress: from, agent: false, headers: { 'Content-Type': 'application/x-pki-message' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: Buffer.concat(chunks) }));
      },
    );
    r.on('error', reject);
    r.end(req.der);
  });
  if (res.status !== 200) return { ...res, rep: undefined };
  const rep = await openCertRep(res.body, req.requester);
  return {
    ...res,
    rep: { status: rep.message.pkiStatus, failInfo: rep.message.failInfo, failText: rep.message.failInfoText, issued: rep.certificates.length },
  };
}

/**
 * Threat: the default endpoint's shared static challenge (at least 8 characters) guessed online, at
 * the speed the server decrypts. A challengePassword that matches no challenge counts against the
 * client's address like a failed login at the challenge URL; a missing, used or expired challenge
 * (what real devices send when they are out of date) does not.
 */
describe('security: guessing SCEP challengePasswords is limited per client address', function () {
  this.timeout(120_000);

  describe('the static challenge of /scep', () => {
    let server: TestServer;
    let cas: CaCertificates;
    before(async () => {
      server = await startTestServer({ SCEPTER_AUTH_MAX_FAILURES: '3', SCEPTER_AUTH_COOLDOWN_SECONDS: '300' });
      cas = await server.client.getCaCertificates();
    });
    after(async () => server.destroy());

    const request = async (cn: string, challenge: string | undefined, keyIndex = 0) => {
      const keys = await pooledKeys(4);
      return server.client.preparePkcsReq({ cas, subject: [{ type: 'CN', value: cn }], challenge, key: keys[keyIndex], transactionId: `guess-${cn}` });
    };

    it('a missing challenge is refused but not counted', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await submitFrom(server.scepUrl, NEIGHBOUR, await request(`none-${i}`, undefined));
        expect(r.rep).to.deep.include({ status: PkiStatus.FAILURE, failInfo: FailInfo.badRequest, failText: 'challengePassword missing' });
      }
      const ok = await submitFrom(server.scepUrl, NEIGHBOUR, await request('neighbour-1', TEST_CHALLENGE, 1));
      expect(ok.rep).to.deep.include({ status: PkiStatus.SUCCESS, issued: 1 });
    });

    it('three wrong challenges, then the address waits (429, Retry-After) even with the right one; nothing is issued to it', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await submitFrom(server.scepUrl, ATTACKER, await request(`wrong-${i}`, `guess-${i}-not-the-secret`));
        expect(r.rep).to.deep.include({ status: PkiStatus.FAILURE, failInfo: FailInfo.badRequest, failText: 'challengePassword not accepted', issued: 0 });
      }
      const blocked = await submitFrom(server.scepUrl, ATTACKER, await request('right-but-late', TEST_CHALLENGE, 2));
      expect(blocked.status).to.equal(429);
      expect(Number(blocked.retryAfter)).to.be.within(1, 300);
      expect(blocked.body.toString()).to.match(/too many wrong challengePasswords/);
      const rows = await server.app.services.db.manager.query("SELECT COUNT(*) AS n FROM certificates WHERE transaction_id = 'guess-right-but-late'");
      expect(Number(rows[0].n)).to.equal(0);
    });

    it('another address keeps enrolling; the refusal is counted in the metrics', async () => {
      const ok = await submitFrom(server.scepUrl, NEIGHBOUR, await request('neighbour-2', TEST_CHALLENGE, 3));
      expect(ok.rep).to.deep.include({ status: PkiStatus.SUCCESS, issued: 1 });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).to.match(/scepter_auth_limiter_refusals_total\{area="scep"\} 1\b/);
    });
  });

  describe("an integration's dynamic challenges", () => {
    let server: IntegrationServer;
    before(async () => {
      server = await startIntegrationServer({ SCEPTER_AUTH_MAX_FAILURES: '2' });
    });
    after(async () => server.destroy());

    it('a used challenge is not counted; a challenge that never existed is, until the cool-down ends', async () => {
      const integ = await createIosCerts(server);
      const client = server.scepClient(integ.id);
      const url = `${server.url}/scep/${integ.id}`;
      const cas = await client.getCaCertificates();
      const keys = await pooledKeys(4);
      const subject = (cn: string) => [
        { type: 'OU' as const, value: integ.id },
        { type: 'CN' as const, value: cn },
      ];
      const challenge = await fetchChallenge(server, integ);
      const first = await submitFrom(url, ATTACKER, await client.preparePkcsReq({ cas, subject: subject('used-0'), challenge, key: keys[0] }));
      expect(first.rep).to.deep.include({ status: PkiStatus.SUCCESS });
      for (let i = 1; i <= 3; i++) {
        const again = await submitFrom(url, ATTACKER, await client.preparePkcsReq({ cas, subject: subject(`used-${i}`), challenge, key: keys[i] }));
        expect(again.rep).to.deep.include({ status: PkiStatus.FAILURE, failText: 'challengePassword already used' });
      }
      for (const guess of ['0123456789abcdef', 'fedcba9876543210']) {
        const r = await submitFrom(url, ATTACKER, await client.preparePkcsReq({ cas, subject: subject(guess), challenge: guess, key: keys[1] }));
        expect(r.rep).to.deep.include({ status: PkiStatus.FAILURE, failText: 'challengePassword not accepted' });
      }
      const fresh = await fetchChallenge(server, integ);
      const blocked = await submitFrom(url, ATTACKER, await client.preparePkcsReq({ cas, subject: subject('fresh'), challenge: fresh, key: keys[2] }));
      expect(blocked.status).to.equal(429);
      server.clock.advance(301_000); // SCEPTER_AUTH_COOLDOWN_SECONDS: 300
      const later = await submitFrom(url, ATTACKER, await client.preparePkcsReq({ cas, subject: subject('later'), challenge: fresh, key: keys[2] }));
      expect(later.rep).to.deep.include({ status: PkiStatus.SUCCESS, issued: 1 });
    });
  });
});
