import { expect } from 'chai';
import { CONFIGURATION_SUCCESSFUL, testConfiguration } from '../../../../src/mdm/workspace-one/test-configuration';
import { startWs1Simulator, type Ws1Simulator } from '../../../../scripts/ws1-sim/ws1-simulator';
import { selfSignedCert, settingsFor } from '../../../support/ws1';

describe('WS1 Test Configuration', () => {
  let sim: Ws1Simulator;
  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: 3, accounts: [{ username: 'no-rest', password: 'pw-no-rest', restRead: false }] });
  });
  after(() => sim.close());
  afterEach(() => sim.setFault(null));

  it('answers "Configuration Successful!" for valid settings', async () => {
    const r = await testConfiguration(settingsFor(sim));
    expect(r).to.deep.equal({ ok: true, message: CONFIGURATION_SUCCESSFUL });
  });

  it('asks for one device only, with the API key checked', async () => {
    const before = sim.stats.searchRequests;
    await testConfiguration(settingsFor(sim));
    expect(sim.stats.searchRequests - before).to.equal(1);
  });

  it('reports a wrong password (1005)', async () => {
    const r = await testConfiguration(settingsFor(sim, { password: 'wrong' }));
    expect(r.ok).to.equal(false);
    expect(r.reason).to.equal('bad-credentials');
    expect(r.message).to.contain('1005').and.not.contain('wrong');
  });

  it('reports an unknown API key (1013), which /API/system/info alone would miss', async () => {
    const r = await testConfiguration(settingsFor(sim, { apiKey: 'NOT-THE-TENANT-CODE' }));
    expect(r).to.include({ ok: false, reason: 'bad-tenant-code' });
    expect(r.message).to.contain('1013').and.not.contain('NOT-THE-TENANT-CODE');
  });

  it('reports an account without REST read permission', async () => {
    const r = await testConfiguration(settingsFor(sim, { username: 'no-rest', password: 'pw-no-rest' }));
    expect(r).to.include({ ok: false, reason: 'no-permission' });
  });

  it('reports a host that does not resolve', async () => {
    const r = await testConfiguration(settingsFor(sim, { baseUrl: 'as9999.ws1-scepter-test.invalid' }));
    expect(r).to.include({ ok: false, reason: 'host-not-found' });
    expect(r.message).to.contain('as9999.ws1-scepter-test.invalid');
  });

  it('reports a timeout when the host never answers', async () => {
    sim.setFault({ type: 'hang' });
    const started = Date.now();
    const r = await testConfiguration(settingsFor(sim, { timeoutMs: 300 }));
    expect(r).to.include({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).to.be.below(2_000); // one attempt, no retries
  });

  it('reports an unexpected server error without retrying for minutes', async () => {
    sim.setFault({ type: 'status', status: 500 });
    const r = await testConfiguration(settingsFor(sim));
    expect(r.ok).to.equal(false);
    expect(r.reason).to.equal('unexpected');
    expect(r.message).to.contain('HTTP 500');
  });

  describe('over TLS', () => {
    let tlsSim: Ws1Simulator;
    let cert: Buffer;
    before(async () => {
      const pair = selfSignedCert();
      cert = pair.cert;
      tlsSim = await startWs1Simulator({ devicesPerPlatform: 1, tls: pair });
    });
    after(() => tlsSim.close());

    it('reports a TLS failure when the server certificate is not trusted', async () => {
      const r = await testConfiguration(settingsFor(tlsSim));
      expect(r).to.include({ ok: false, reason: 'tls' });
      expect(r.message).to.match(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    });

    it('succeeds when the private CA is supplied', async () => {
      const r = await testConfiguration(settingsFor(tlsSim, { ca: cert }));
      expect(r).to.deep.equal({ ok: true, message: CONFIGURATION_SUCCESSFUL });
    });

    it('reports TLS when speaking https to a plain-http server', async () => {
      const r = await testConfiguration(settingsFor(sim, { baseUrl: sim.url.replace('http:', 'https:') }));
      expect(r).to.include({ ok: false, reason: 'tls' });
    });
  });
});
