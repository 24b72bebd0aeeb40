// A Workspace ONE that answers wrongly, or against us, must not crash the server, empty the
// inventory, fill the disk or plant look-alike identifiers: the real server syncs from a small fake
// WS1 served by this test, whose answers each test sets.
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { devicePageByteLimit, pageBudget, Ws1Client } from '../../src/mdm/workspace-one/ws1-client';
import { Ws1ProtocolError } from '../../src/mdm/workspace-one/ws1.errors';
import { capturingLogger } from '../support/ws1-services';
import { startTestServer, type TestServer } from '../support/test-server';

const ACTOR = { who: 'test', from: 'test' };

interface Answer {
  status: number;
  body?: string;
}
type Respond = (page: number, pageSize: number) => Answer;

/** A device as WS1 v2 writes it; `i` makes its identifiers unique. */
const device = (i: number, fields: Record<string, unknown> = {}) => ({
  Id: { Value: i },
  Udid: `hostile-udid-${String(i).padStart(8, '0')}`,
  SerialNumber: `HSER${i}`,
  MacAddress: `A0B0C0${String(i).padStart(6, '0')}`,
  Imei: `35${String(i).padStart(13, '0')}`,
  Platform: 'Apple',
  UserName: `user${i}`,
  EnrollmentStatus: 'Enrolled',
  ...fields,
});
const page = (devices: unknown[], p: number, total: number): Answer => ({
  status: 200,
  body: JSON.stringify({ Devices: devices, Page: p, PageSize: 500, Total: total }),
});
/** The WARN lines of a stretch of JSON log. */
const warnings = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg: string } & Record<string, unknown>)
    .filter((l) => l.level === 40);
const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => device(from + k));

describe('WS1 sync against a hostile Workspace ONE', function () {
  this.timeout(120_000);
  let fake: http.Server;
  let fakeUrl: string;
  let respond: Respond;
  let requests: number;
  /** the pagesize of every device search the fake answered */
  let asked: number[];
  let server: TestServer;
  let key: string;
  let id: string;
  const log = capturingLogger();
  const baseline = range(1, 3);

  const api = async (method: string, path: string) => {
    const res = await fetch(`${server.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${key}` } });
    return (await res.json()) as Record<string, unknown> & { message?: string };
  };
  const sync = () => api('POST', `/integrations/${id}/ws1/sync`);
  const found = async (identifier: string) => (await api('GET', `/integrations/${id}/devices/search?identifier=${encodeURIComponent(identifier)}`)).found;
  const deviceCount = async () => ((await api('GET', `/integrations/${id}/ws1`)).sync as { deviceCount: number }).deviceCount;
  /** rows of every generation, current or not: a failed walk must leave none behind */
  const storedRows = async () =>
    Number((await server.app.services.db.manager.query('SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = ?', [id]))[0].n);

  /** The sync fails with `reason`, and the baseline inventory is the one still in force. */
  const expectRefused = async (reason: string | RegExp) => {
    const r = await sync();
    expect(r.ok, JSON.stringify(r)).to.equal(false);
    if (typeof reason === 'string') expect(r.message).to.contain(reason);
    else expect(r.message).to.match(reason);
    expect(r.message).to.contain('the previous inventory was kept');
    expect(await deviceCount()).to.equal(baseline.length);
    expect(await storedRows()).to.equal(baseline.length);
    for (const d of baseline) expect(await found(d.Udid)).to.equal(true);
  };

  before(async () => {
    fake = http.createServer((req, res) => {
      requests++;
      const q = new URL(req.url ?? '/', 'http://fake').searchParams;
      asked.push(Number(q.get('pagesize')));
      const a = respond(Number(q.get('page')), Number(q.get('pagesize')));
      res.writeHead(a.status, a.body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(a.body);
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    server = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' }, undefined, { logger: log.logger });
    const s = server.app.services;
    key = (await s.apiKeys.create('administrator', ACTOR)).key;
    id = (await s.integrations.create({ type: 'ios', name: 'iPhones', allowLegacy: false }, ACTOR)).id;
    await s.ws1Settings.configure(id, { baseUrl: fakeUrl, username: 'api-admin', password: 'fake-password', apiKey: 'FAKETENANT' }, ACTOR);
  });
  after(async () => {
    await server?.destroy();
    fake?.closeAllConnections();
    await new Promise((r) => fake?.close(r));
  });
  beforeEach(async () => {
    asked = [];
    respond = (p) => (p === 0 ? page(baseline, 0, baseline.length) : { status: 204 });
    expect(await sync()).to.include({ ok: true, managed: baseline.length, skipped: 0 });
    requests = 0;
  });

  it('refuses a page holding more devices than the page size asked for', async () => {
    respond = (p) => page(range(1000, 501), p, 501);
    await expectRefused('501 devices on one page, more than the 500 asked for');
    expect(asked.at(-1)).to.equal(500);
  });

  it('refuses a device page larger than a few KB per device asked for, while it arrives', async () => {
    const limit = devicePageByteLimit(500);
    expect(limit).to.be.below(5 * 1024 * 1024); // proportionate to the page, far below the old 64 MB
    respond = (p) =>
      page(
        range(1000, 500).map((d) => ({ ...d, Notes: 'x'.repeat(9 * 1024) })),
        p,
        500,
      );
    await expectRefused(`larger than ${limit} bytes`);
  });

  it('refuses other answers over 1 MB (system info), which would be parsed whole', async () => {
    respond = () => ({ status: 200, body: JSON.stringify({ ProductVersion: '23.10', filler: Array(600_000).fill({}) }) });
    const client = new Ws1Client({ baseUrl: fakeUrl, username: 'u', password: 'p', apiKey: 'k', timeoutMs: 5_000 });
    try {
      await client.getSystemInfo().then(
        () => expect.fail('a 1.8 MB system info must be refused'),
        (err: unknown) => expect(err).to.be.instanceOf(Ws1ProtocolError).and.have.property('message').that.contains('larger than 1048576 bytes'),
      );
    } finally {
      client.close();
    }
  });

  it('refuses a 200 with an empty body (WS1 answers 204 when there are no devices)', async () => {
    respond = () => ({ status: 200, body: '' });
    await expectRefused('HTTP 200 and no body');
  });

  for (const [what, body, reason] of [
    ['a JSON array', '[{"Udid":"x"}]', 'not a JSON object'],
    ['JSON null', 'null', 'not a JSON object'],
    ['not JSON', '<html>maintenance</html>', 'not JSON'],
    ['Devices that is not an array', '{"Devices":"none","Total":0}', 'not an array'],
    ['Devices holding non-objects', '{"Devices":[0,"x",null],"Total":3}', 'entries that are not objects'],
    ['no device list at all', '{"Total":0}', 'neither Devices nor devices'],
  ] as const) {
    it(`refuses a 200 whose body is ${what}`, async () => {
      respond = () => ({ status: 200, body });
      await expectRefused(reason);
    });
  }

  it('refuses a walk that keeps announcing more devices than its first Total, and cleans its partial generation', async () => {
    const budget = pageBudget(1000, 500);
    expect(budget).to.equal(5); // ceil(1.1 * 1000 / 500) + 2
    respond = (p) => page(range(10_000 + p * 500, 500), p, (p + 2) * 500); // 500 new UDIDs and a growing Total on every page
    await expectRefused(`first reported 1000 devices, but after ${budget} pages of 500 it still reports 3000`);
    expect(requests).to.equal(budget);
  });

  it('accepts a fleet that grows a little during the walk', async () => {
    respond = (p) => (p < 3 ? page(range(20_000 + p * 500, 500), p, p === 0 ? 1000 : 1400) : { status: 204 });
    expect(await sync()).to.include({ ok: true, pages: 3, managed: 1500 });
  });

  it('skips devices whose identifiers are unprintable or too long, and marks unprintable names', async () => {
    const long = 'u'.repeat(256);
    const bad = [
      device(101, { Udid: 'udid-\u202Egnp.exe' }),
      device(102, { SerialNumber: 'SER\u001b[31m' }),
      device(103, { Imei: '3500\u0000' }),
      device(104, { MacAddress: 'A0B0C0\r000104' }),
      device(105, { Udid: `${long}-one` }), // would be cut to the same 256 characters as the next one
      device(106, { Udid: `${long}-two` }),
    ];
    const named = device(107, { UserName: 'evil\u202Eeman', Platform: 'Ap\u0007ple' });
    respond = (p) => (p === 0 ? page([...baseline, ...bad, named], 0, 10) : { status: 204 });
    const before = log.text().length;
    const r = await sync();
    const text = log.text().slice(before);
    const logged = warnings(text);
    expect(r).to.include({ ok: true, fetched: 10, managed: 4, skipped: 6 });
    expect(await deviceCount()).to.equal(4);
    for (const i of [101, 103, 104, 105, 106]) expect(await found(`HSER${i}`)).to.equal(false);
    expect(await found(device(102).Udid)).to.equal(false);
    expect(await found(long)).to.equal(false);
    const shown = (await api('GET', `/integrations/${id}/devices/search?identifier=${named.Udid}`)).device as Record<string, string>;
    expect(shown).to.include({ userName: 'evil\uFFFDeman', platform: 'Ap\uFFFDple' });
    expect(logged.find((l) => l.msg.includes('skipped devices'))).to.include({ skipped: 6 });
    for (const value of ['gnp.exe', '[31m', long]) expect(text).not.to.contain(value);
  });

  it('keeps 204 as "no devices": the inventory is emptied, with a warning for the shrink', async () => {
    const before = log.text().length;
    respond = () => ({ status: 204 });
    expect(await sync()).to.include({ ok: true, pages: 0, managed: 0 });
    expect(await deviceCount()).to.equal(0);
    expect(warnings(log.text().slice(before)).find((l) => l.msg.includes('shrank the inventory by more than 90%'))).to.include({ previous: 3, managed: 0 });
  });
});
