// End to end as WS1 and an iOS device would do it, with Debian's scepclient (micromdm) in the
// device's place: challenge from the challenge URL (NDES page, regex), enrollment on the
// integration's own SCEP URL, certificate checked with openssl.
import { expect } from 'chai';
import * as openssl from '../support/openssl';
import { runScepclient, ScepclientResult } from '../support/scepclient';
import { createIosCerts, fetchChallenge, getChallengePage, IntegrationServer, startIntegrationServer } from '../integration/integrations-support';
import { createLogger } from '../../src/shared/logger';
import { FailInfo } from '../../src/scep/scep.types';

describe("ios-certs integration end to end with Debian's scepclient", function () {
  this.timeout(60_000);
  let server: IntegrationServer;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let caPem: string;
  const logLines: string[] = [];

  before(async () => {
    server = await startIntegrationServer({}, undefined, { logger: createLogger('info', { write: (l: string) => void logLines.push(l) }) });
    integ = await createIosCerts(server, 'WS1 iOS');
    caPem = server.app.services.authority.caCertificate.der.toString('base64').replace(/(.{64})/g, '$1\n');
    caPem = `-----BEGIN CERTIFICATE-----\n${caPem.trim()}\n-----END CERTIFICATE-----\n`;
  });
  after(async () => server.destroy());

  const ndesUrl = () => `${server.url}/certsrv/mscep/${integ.id}/mscep.dll`;
  const enroll = (challenge: string, cn: string, extra: { keySize?: number; ou?: string; url?: string } = {}): Promise<ScepclientResult> =>
    runScepclient({ url: extra.url ?? ndesUrl(), challenge, cn, ou: extra.ou ?? integ.id, keySize: extra.keySize });
  // the refusal the server logged last (refusals are answered and logged, not stored)
  const lastFailure = async () => {
    const line = logLines
      .map((l) => JSON.parse(l) as { msg?: string; endpoint?: string; pkiStatus?: string; failInfo?: keyof typeof FailInfo; failText?: string })
      .filter((l) => l.msg === 'scep' && l.endpoint === integ.id && l.pkiStatus === 'FAILURE')
      .pop();
    return line && { fail_info: FailInfo[line.failInfo!], fail_text: line.failText };
  };

  it('enrolls a device: RSA 2048, keyUsage digitalSignature only, clientAuth, UDID recorded', async () => {
    const udid = '00008030-001A2D3C0E88802E';
    const challenge = await fetchChallenge(server, integ);
    const r = await enroll(challenge, udid);
    expect(r.ok, r.stderr).to.equal(true);
    expect(openssl.verifyChain(caPem, r.certPem!).ok).to.equal(true);
    expect(openssl.keyUsage(r.certPem!)).to.deep.equal(['Digital Signature']);
    expect(openssl.eku(r.certPem!)).to.deep.equal(['TLS Web Client Authentication']);
    expect(openssl.keyBits(r.certPem!)).to.equal(2048);
    // exactly the template's attributes
    expect(openssl.subject(r.certPem!)).to.equal(`CN=${udid},OU=${integ.id}`);
    const [row] = await server.app.services.db.manager.query('SELECT integration_id, device_id, status, endpoint_id FROM certificates WHERE device_id = ?', [
      udid,
    ]);
    expect(row).to.deep.equal({ integration_id: integ.id, device_id: udid, status: 'valid', endpoint_id: integ.id });
  });

  it('refuses a challenge the second time (FAILURE badRequest)', async () => {
    const challenge = await fetchChallenge(server, integ);
    expect((await enroll(challenge, 'reuse-1')).ok).to.equal(true);
    const again = await enroll(challenge, 'reuse-2');
    expect(again.ok).to.equal(false);
    expect(again.stdout).to.contain('failInfo: badRequest (2)');
    expect(await lastFailure()).to.deep.equal({ fail_info: 2, fail_text: 'challengePassword already used' });
  });

  it('refuses a 1024-bit key with badAlg', async () => {
    const r = await enroll(await fetchChallenge(server, integ), 'small-key', { keySize: 1024 });
    expect(r.ok).to.equal(false);
    expect(r.stdout).to.contain('failInfo: badAlg (0)');
    const f = await lastFailure();
    expect(f?.fail_info).to.equal(0);
    expect(f?.fail_text).to.contain('2048');
  });

  it('refuses a subject whose OU is not the integration (template mismatch: badRequest)', async () => {
    const r = await enroll(await fetchChallenge(server, integ), 'wrong-ou', { ou: 'MDM' });
    expect(r.ok).to.equal(false);
    expect(r.stdout).to.contain('failInfo: badRequest (2)');
    const f = await lastFailure();
    expect(f?.fail_info).to.equal(2);
    expect(f?.fail_text).to.contain('OU');
  });

  it('refuses an expired challenge (valid 60 minutes)', async () => {
    const challenge = await fetchChallenge(server, integ);
    server.clock.advance(61 * 60_000);
    try {
      const r = await enroll(challenge, 'late-device');
      expect(r.stdout).to.contain('failInfo: badRequest (2)');
      expect(await lastFailure()).to.deep.equal({ fail_info: 2, fail_text: 'challengePassword expired' });
    } finally {
      server.clock.advance(-61 * 60_000);
    }
  });

  it('refuses a challenge minted for another integration', async () => {
    const other = await createIosCerts(server, 'other');
    const r = await enroll(await fetchChallenge(server, other), 'cross-device');
    expect(r.stdout).to.contain('failInfo: badRequest (2)');
    expect(await lastFailure()).to.deep.equal({ fail_info: 2, fail_text: 'challengePassword not accepted' });
    // and the challenge still works where it belongs
    const own = await runScepclient({
      url: `${server.url}/scep/${other.id}`,
      challenge: await fetchChallenge(server, other),
      cn: 'cross-device',
      ou: other.id,
    });
    expect(own.ok, own.stderr).to.equal(true);
  });

  it('refuses a subject without the device identifier (no CN): badRequest', async () => {
    const r = await enroll(await fetchChallenge(server, integ), '');
    expect(r.stdout).to.contain('failInfo: badRequest (2)');
    expect((await lastFailure())?.fail_text).to.match(/^subject has no CN: the device identifier/);
  });

  it('gets no challenge with wrong Basic credentials (401 with WWW-Authenticate)', async () => {
    const res = await getChallengePage(server, integ.challengeUsername, 'guessed', { localAddress: '127.0.0.9' });
    expect(res.status).to.equal(401);
    expect(res.headers['www-authenticate']).to.match(/^Basic realm=/);
  });

  it('re-enrollment of the same device (new key, fresh challenge) supersedes its older certificate', async () => {
    const udid = 'RENEW-UDID-0001';
    const first = await enroll(await fetchChallenge(server, integ), udid, { url: `${server.url}/scep/${integ.id}` });
    expect(first.ok, first.stderr).to.equal(true);
    const second = await enroll(await fetchChallenge(server, integ), udid);
    expect(second.ok, second.stderr).to.equal(true);
    const rows = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE device_id = ? ORDER BY id', [udid]);
    expect(rows.map((r: { status: string }) => r.status)).to.deep.equal(['superseded', 'valid']);
  });
});
