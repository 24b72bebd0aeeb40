import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ws1Client } from '../../src/mdm/workspace-one/ws1-client';
import { Ws1ProtocolError } from '../../src/mdm/workspace-one/ws1.errors';
import { parseArgs } from '../../scripts/ws1-sim/main';
import { generateInventory } from '../../scripts/ws1-sim/ws1-sim-inventory';
import { startWs1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { settingsFor } from '../support/ws1';
import { item, single } from '../support/items';

function luhnOk(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const v = Number(digits[digits.length - 1 - i]);
    sum += i % 2 === 1 ? (v * 2 > 9 ? v * 2 - 9 : v * 2) : v;
  }
  return sum % 10 === 0;
}

describe('WS1 simulator', () => {
  it('generates a deterministic fleet with per-platform identifier formats', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const a = generateInventory({ perPlatform: 50, seed: 9, now });
    const b = generateInventory({ perPlatform: 50, seed: 9, now });
    expect(a.map((d) => d.udid)).to.deep.equal(b.map((d) => d.udid));
    expect(item(generateInventory({ perPlatform: 50, seed: 10, now }), 0).udid).to.not.equal(item(a, 0).udid);
    const of = (p: string) => a.filter((d) => d.platform === p);
    expect(of('Apple').every((d) => /^[0-9a-f]{40}$/.test(d.udid))).to.equal(true);
    expect(of('AppleOsX').every((d) => /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/.test(d.udid))).to.equal(true);
    expect(of('Android').every((d) => /^[0-9a-f]{32}$/.test(d.udid))).to.equal(true);
    expect(of('WinRT').every((d) => /^[0-9A-F]{32}$/.test(d.udid))).to.equal(true);
    const imeis = a.map((d) => d.imei).filter((x) => x !== '');
    expect(imeis.length).to.be.above(10);
    expect(imeis.every((x) => /^35\d{13}$/.test(x) && luhnOk(x))).to.equal(true);
    expect(of('WinRT').every((d) => d.imei === '')).to.equal(true);
    expect(new Set(a.map((d) => d.id)).size).to.equal(200);
  });

  it('caps pagesize at 500, checks platform and version, filters on seensince', async () => {
    const now = new Date();
    const sim = await startWs1Simulator({
      inventory: [
        { udid: 'a1', platform: 'Apple', lastSeen: new Date(now.getTime() - 10 * 86400_000) },
        { udid: 'a2', platform: 'Apple', lastSeen: new Date(now.getTime() - 3600_000) },
        ...generateInventory({ perPlatform: { WinRT: 700 } }).map((d) => ({ ...d, id: undefined })),
      ],
    });
    const c = new Ws1Client(settingsFor(sim), { maxAttempts: 1 });
    try {
      const big = await c.searchPage('WinRT', 0, 1000);
      expect(big).to.include({ pageSize: 500, total: 700 });
      expect(big.devices).to.have.length(500);
      expect((await c.searchPage('winrt', 1, 1000)).devices).to.have.length(200);

      const recent = await c.searchPage('Apple', 0, 10, new Date(now.getTime() - 86400_000));
      expect(recent.devices.map((d) => d.udid)).to.deep.equal(['a2']);

      try {
        await c.searchPage('Symbian', 0, 10);
        expect.fail('unknown platform');
      } catch (err) {
        expect(err).to.be.instanceOf(Ws1ProtocolError);
        expect((err as Ws1ProtocolError).upstreamStatus).to.equal(400);
      }
      const v4 = new Ws1Client(settingsFor(sim, { apiVersion: 4 as 3 }), { maxAttempts: 1 });
      await v4.searchPage('Apple', 0, 1).then(
        () => expect.fail('v4'),
        (err) => expect(err.upstreamStatus).to.equal(406),
      );
      v4.close();
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('loads an inventory file in WS1 field names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws1-inv-'));
    const file = join(dir, 'inventory.json');
    writeFileSync(
      file,
      JSON.stringify({
        Devices: [
          { Id: { Value: 7 }, Udid: 'ABC', SerialNumber: 'S1', Platform: 'Apple', EnrollmentStatus: 'Enrolled', LastSeen: '2024-06-01T10:00:00' },
          { udid: 'DEF', serial_number: 'S2', platform: 'Android', enrollment_status: 'Unenrolled' },
        ],
      }),
    );
    const sim = await startWs1Simulator({ inventoryFile: file });
    try {
      expect(sim.devices.size).to.equal(2);
      const apple = single(sim.devices.search('Apple'));
      expect(apple).to.include({ id: 7, udid: 'ABC', serialNumber: 'S1' });
      expect(apple.lastSeen.toISOString()).to.equal('2024-06-01T10:00:00.000Z');
      expect(sim.devices.search('Android')[0]).to.include({ udid: 'DEF', enrollmentStatus: 'Unenrolled' });
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the last page of 100,000 devices quickly', async function () {
    this.timeout(30_000); // generation is CPU-bound and these machines are shared
    const started = Date.now();
    const sim = await startWs1Simulator({ devicesPerPlatform: { Apple: 100_000 } });
    const c = new Ws1Client(settingsFor(sim), { maxAttempts: 1 });
    try {
      const t = Date.now();
      const last = await c.searchPage('Apple', 199, 500);
      expect(last.devices).to.have.length(500);
      expect(last.total).to.equal(100_000);
      expect(Date.now() - t).to.be.below(500);
      expect(Date.now() - started).to.be.below(15_000);
    } finally {
      c.close();
      await sim.close();
    }
  });

  it('parses its command line', () => {
    expect(
      parseArgs(['--port', '9000', '--devices-per-platform=25000', '--quota', '10', '--tenant-code', 'T', '--username', 'u', '--password', 'p']),
    ).to.deep.equal({ port: 9000, devicesPerPlatform: 25000, quota: 10, tenantCode: 'T', username: 'u', password: 'p' });
    expect(parseArgs(['--help'])).to.deep.equal({ help: true });
    expect(parseArgs(['--inventory', 'f.json'])).to.deep.equal({ inventoryFile: 'f.json' });
    expect(() => parseArgs(['--port', 'x'])).to.throw(/integer/);
    expect(() => parseArgs(['--nope'])).to.throw(/unknown option/);
    expect(() => parseArgs(['--port'])).to.throw(/needs a value/);
  });
});
