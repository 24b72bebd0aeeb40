import { expect } from 'chai';
import * as http from 'node:http';
import { Ws1Client, type Ws1ClientEvent } from '../../../../src/mdm/workspace-one/ws1-client';
import { Ws1RateLimitError, Ws1ServerError, Ws1SettingsError, Ws1TenantCodeError, Ws1TimeoutError } from '../../../../src/mdm/workspace-one/ws1.errors';
import { normalizeBaseUrl } from '../../../../src/mdm/workspace-one/ws1-settings';
import type { Ws1DevicePage } from '../../../../src/mdm/workspace-one/ws1.types';
import { startWs1Simulator, type Ws1Simulator } from '../../../../scripts/ws1-sim/ws1-simulator';
import { FAST_RETRY, settingsFor } from '../../../support/ws1';
import { item, single } from '../../../support/items';

async function collect(it: AsyncIterable<Ws1DevicePage>): Promise<Ws1DevicePage[]> {
  const pages: Ws1DevicePage[] = [];
  for await (const p of it) pages.push(p);
  return pages;
}

/** A raw GET to the simulator, to check what it sends (headers, status) independent of the client. */
function rawGet(url: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('WS1 client against the simulator', () => {
  let sim: Ws1Simulator;
  const clients: Ws1Client[] = [];
  const client = (...args: ConstructorParameters<typeof Ws1Client>) => {
    const c = new Ws1Client(...args);
    clients.push(c);
    return c;
  };
  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { Apple: 1234, Android: 7, WinRT: 3 }, seed: 42, bearerTokens: ['tok-123'] });
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await sim.close();
  });
  afterEach(() => {
    sim.setFault(null);
    sim.setQuota(50_000, 86_400);
  });

  it('pages through 1,234 devices in pages of 500 from page 0', async () => {
    const before = sim.stats.searchRequests;
    const pages = await collect(client(settingsFor(sim), FAST_RETRY).searchDevices('Apple'));
    expect(pages.map((p) => [p.page, p.devices.length, p.total])).to.deep.equal([
      [0, 500, 1234],
      [1, 500, 1234],
      [2, 234, 1234],
    ]);
    expect(sim.stats.searchRequests - before).to.equal(3); // stops at Total, no trailing 204 probe
    const udids = new Set(pages.flatMap((p) => p.devices.map((d) => d.udid)));
    expect(udids.size).to.equal(1234);
    const d = item(item(pages, 0).devices, 0);
    expect(d.udid).to.match(/^[0-9a-f]{40}$/);
    expect(d.platform).to.equal('Apple');
    expect(d.lastSeen).to.be.instanceOf(Date);
    expect(d.id).to.be.a('number');
  });

  it('treats 204 as no devices', async () => {
    const pages = await collect(client(settingsFor(sim)).searchDevices('AppleOsX'));
    expect(pages).to.deep.equal([]);
  });

  for (const apiVersion of [1, 3] as const) {
    it(`parses the v${apiVersion} envelope`, async () => {
      const pages = await collect(client(settingsFor(sim, { apiVersion })).searchDevices('Android'));
      const page = single(pages, 'pages');
      expect(page).to.include({ page: 0, total: 7 });
      const expected = sim.devices.search('Android');
      expect(page.devices.map((d) => d.udid)).to.deep.equal(expected.map((d) => d.udid));
      const first = item(page.devices, 0);
      const want = item(expected, 0);
      expect(first).to.include({ serialNumber: want.serialNumber, userName: want.userName, enrollmentStatus: want.enrollmentStatus });
      // LastSeen comes without a zone and means UTC; milliseconds survive the round trip.
      expect(first.lastSeen?.getTime()).to.equal(want.lastSeen.getTime());
    });
  }

  it('sends Basic auth, aw-tenant-code and Accept version 2 with the WS1 query', async () => {
    let seen: http.IncomingMessage | undefined;
    const capture = http.createServer((req, res) => {
      seen = req;
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    try {
      const port = (capture.address() as { port: number }).port;
      const c = client({ baseUrl: `http://127.0.0.1:${port}/API`, username: 'admin@corp', password: 'p:w', apiKey: 'K1' });
      expect(await collect(c.searchDevices('WinRT'))).to.deep.equal([]);
      expect(seen?.url).to.equal('/API/mdm/devices/search?platform=WinRT&page=0&pagesize=500');
      expect(seen?.headers.authorization).to.equal(`Basic ${Buffer.from('admin@corp:p:w').toString('base64')}`);
      expect(seen?.headers['aw-tenant-code']).to.equal('K1');
      expect(seen?.headers.accept).to.equal('application/json;version=2');
    } finally {
      capture.closeAllConnections();
      capture.close();
    }
  });

  it('simulator: answers WS1 shapes with rate headers', async () => {
    const r = await rawGet(`${sim.url}/API/mdm/devices/search?platform=WinRT&pagesize=1`, {
      authorization: `Basic ${Buffer.from(`${sim.credentials.username}:${sim.credentials.password}`).toString('base64')}`,
      'aw-tenant-code': sim.credentials.tenantCode,
      accept: 'application/json;version=2',
    });
    expect(r.status).to.equal(200);
    expect(JSON.parse(r.body)).to.include({ Page: 0, PageSize: 1, Total: 3 });
    expect(r.headers['x-ratelimit-limit']).to.equal('50000');
    expect(Number(r.headers['x-ratelimit-reset'])).to.be.above(Date.now() / 1000);
  });

  it('simulator: bearer tokens, tenant code not checked by /API/system/info, 5061 on unknown device', async () => {
    const bearer = await rawGet(`${sim.url}/API/mdm/devices/search?platform=WinRT`, { authorization: 'Bearer tok-123' });
    expect(bearer.status).to.equal(200);
    const badBearer = await rawGet(`${sim.url}/API/mdm/devices/search?platform=WinRT`, { authorization: 'Bearer nope' });
    expect(badBearer.status).to.equal(401);
    expect(JSON.parse(badBearer.body)).to.include({ errorCode: 1005 });
    expect(badBearer.headers['x-ratelimit-remaining']).to.be.a('string');

    const info = await client(settingsFor(sim, { apiKey: 'WRONG' })).getSystemInfo();
    expect(info.ProductVersion).to.be.a('string');
    try {
      await client(settingsFor(sim, { apiKey: 'WRONG' })).searchPage('Apple', 0, 1);
      expect.fail('should refuse the tenant code');
    } catch (err) {
      expect(err).to.be.instanceOf(Ws1TenantCodeError);
      expect((err as Ws1TenantCodeError).activityId).to.be.a('string');
    }

    const c = client(settingsFor(sim));
    expect(await c.findDevice('Udid', 'no-such-device')).to.equal(undefined);
    const known = item(sim.devices.search('WinRT'), 1);
    expect((await c.findDevice('Serialnumber', known.serialNumber.toLowerCase()))?.udid).to.equal(known.udid);
  });

  it('retries a transient 503 and succeeds', async () => {
    sim.setFault({ type: 'status', status: 503, page: 1, times: 2 });
    const events: Ws1ClientEvent[] = [];
    const pages = await collect(client(settingsFor(sim), { ...FAST_RETRY, onEvent: (e) => events.push(e) }).searchDevices('Apple'));
    expect(pages.reduce((n, p) => n + p.devices.length, 0)).to.equal(1234);
    expect(events.filter((e) => e.type === 'retry')).to.have.length(2);
  });

  it('retries a reset connection', async () => {
    sim.setFault({ type: 'reset', onRequest: 1 });
    const page = await client(settingsFor(sim), FAST_RETRY).searchPage('WinRT', 0, 500);
    expect(page.devices).to.have.length(3);
  });

  it('gives up on a persistent 500 after the bounded attempts', async () => {
    sim.setFault({ type: 'status', status: 500 });
    const before = sim.stats.requests;
    try {
      await client(settingsFor(sim), { ...FAST_RETRY, maxAttempts: 3 }).searchPage('Apple', 0, 500);
      expect.fail('should fail');
    } catch (err) {
      expect(err).to.be.instanceOf(Ws1ServerError);
      expect((err as Ws1ServerError).upstreamStatus).to.equal(500);
    }
    expect(sim.stats.requests - before).to.equal(3);
  });

  it('times out each call and retries timeouts for the sync', async () => {
    sim.setFault({ type: 'hang', onRequest: 1 });
    const page = await client(settingsFor(sim, { timeoutMs: 200 }), FAST_RETRY).searchPage('WinRT', 0, 10);
    expect(page.devices).to.have.length(3);
    sim.setFault({ type: 'hang' });
    const started = Date.now();
    try {
      await client(settingsFor(sim, { timeoutMs: 150 }), { ...FAST_RETRY, maxAttempts: 2 }).searchPage('WinRT', 0, 10);
      expect.fail('should time out');
    } catch (err) {
      expect(err).to.be.instanceOf(Ws1TimeoutError);
    }
    expect(Date.now() - started).to.be.within(290, 1500);
  });

  it('after a 429 waits for Retry-After instead of hammering', async () => {
    sim.setQuota(1, 1);
    await client(settingsFor(sim)).searchPage('WinRT', 0, 1); // spends the quota
    const before = sim.stats.requests;
    const events: Ws1ClientEvent[] = [];
    const fresh = client(settingsFor(sim), { onEvent: (e) => events.push(e) }); // knows nothing of the quota yet
    const page = await fresh.searchPage('WinRT', 0, 1);
    expect(page.devices).to.have.length(1);
    expect(sim.stats.byStatus.get(429)).to.be.at.least(1);
    expect(sim.stats.requests - before).to.equal(2); // one 429, one success after the reset
    expect(events.some((e) => e.type === 'rate-limit-wait')).to.equal(true);
  });

  it('fails fast when the quota resets later than it may wait', async () => {
    sim.setQuota(0, 3600);
    const started = Date.now();
    try {
      await client(settingsFor(sim), { maxRateLimitWaitMs: 1_000 }).searchPage('WinRT', 0, 1);
      expect.fail('should refuse to wait an hour');
    } catch (err) {
      expect(err).to.be.instanceOf(Ws1RateLimitError);
      expect((err as Ws1RateLimitError).retryAfterMs).to.be.above(3_000_000);
    }
    expect(Date.now() - started).to.be.below(500);
  });

  it('normalizes the base URL and refuses unusable ones', () => {
    expect(normalizeBaseUrl('as1234.awmdm.com').href).to.equal('https://as1234.awmdm.com/');
    expect(normalizeBaseUrl(' https://as1234.awmdm.com/API/ ').href).to.equal('https://as1234.awmdm.com/');
    expect(normalizeBaseUrl('http://127.0.0.1:8089').href).to.equal('http://127.0.0.1:8089/');
    expect(normalizeBaseUrl('ws1.example.com:8443/AirWatch').href).to.equal('https://ws1.example.com:8443/AirWatch');
    expect(() => normalizeBaseUrl('ftp://x')).to.throw(Ws1SettingsError);
    expect(() => normalizeBaseUrl('https://u:p@x')).to.throw(Ws1SettingsError);
    expect(() => normalizeBaseUrl('')).to.throw(Ws1SettingsError);
  });

  it('does not expose the password or API key when inspected', async () => {
    const { inspect } = await import('node:util');
    const c = client(settingsFor(sim, { password: 'Sup3r-Secret!', apiKey: 'KEY-ABC-123' }));
    const text = inspect(c, { depth: 5 }) + JSON.stringify(c);
    expect(text).not.to.contain('Sup3r-Secret!');
    expect(text).not.to.contain('KEY-ABC-123');
    expect(text).not.to.contain(Buffer.from(`${sim.credentials.username}:Sup3r-Secret!`).toString('base64'));
  });
});
