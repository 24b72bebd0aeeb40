import { expect } from 'chai';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { dateParam } from '../../src/db/dialect';
import { InventoryRepository } from '../../src/db/inventory.repository';
import { rawQuery } from '../../src/db/raw-sql';
import { databaseEnv } from '../support/postgres';
import { startTestServer, TestServer } from '../support/test-server';
import { createCertIntegration, issueForDevice, scratch, TEST_ACTOR } from './revocation-support';
import { byString } from '../support/items';
import { replaceInventory } from '../../src/mdm/workspace-one/inventory-store.ports';

const BIN = path.resolve(__dirname, '../../../bin/scepter');
const DAY = 86_400_000;
const BULK = 300;

/** The bulk rows the lists are checked against, as the test computes them (not as the code does). */
interface Bulk {
  id?: number;
  serial: string;
  integrationId: string;
  deviceId: string;
  status: 'valid' | 'revoked' | 'superseded';
  notAfter: Date;
}

function bulkRows(now: number): Bulk[] {
  return Array.from({ length: BULK }, (_, i) => ({
    serial: `7E${i.toString(16).toUpperCase().padStart(30, '0')}`,
    integrationId: `DI-BULK${i % 3}`,
    // 150 devices with 2 certificates each; one device id a spreadsheet would run as a formula
    deviceId: i === 7 || i === 157 ? '=HYPERLINK("x")' : `bulk-${String(i % 50).padStart(3, '0')}`,
    status: i % 10 === 0 ? 'revoked' : i % 7 === 0 ? 'superseded' : 'valid',
    // about 20% expired, the rest spread over the next 80 days (whole seconds: stored precision)
    notAfter: new Date(Math.floor(now / 1000) * 1000 + (((i * 37) % 100) - 20) * DAY + i * 1000),
  }));
}

function cli(server: TestServer, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: server.dir,
      env: { ...process.env, ...server.env, SCEPTER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`lists and exports: certificates, devices, WS1 inventory (${dialect})`, function () {
    this.timeout(120_000);
    let server: TestServer;
    let drop: (() => Promise<void>) | undefined;
    let key: string;
    let a: string;
    let b: string;
    let bulk: Bulk[];
    const real: Record<string, string> = {};
    const files = scratch();

    const api = async (p: string, k = key) => {
      const res = await fetch(`${server.url}/admin/v1${p}`, { headers: { Authorization: `Bearer ${k}` } });
      const text = await res.text();
      return {
        status: res.status,
        type: res.headers.get('content-type') ?? '',
        text,
        body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined,
      };
    };
    /** every page of a list, following nextCursor */
    const walk = async (kind: string, query: string, limit: number) => {
      const items: any[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await api(`/${kind}?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status, r.text).to.equal(200);
        expect(r.body[kind].length).to.be.at.most(limit);
        items.push(...r.body[kind]);
        cursor = r.body.nextCursor;
        if (++pages > 500) throw new Error('paging does not end');
      } while (cursor);
      return items;
    };

    before(async function () {
      const { env, drop: dropDatabase } = await databaseEnv(dialect);
      drop = dropDatabase;
      server = await startTestServer(env);
      key = (await server.app.services.apiKeys.create('read-only', TEST_ACTOR)).key;
      // real enrollments: UDID-1 twice (the first is superseded), UDID-2 then revoked, UDID-3 in another integration
      a = await createCertIntegration(server, 'Lists A');
      b = await createCertIntegration(server, 'Lists B');
      real.first = (await issueForDevice(server, files.dir, a, 'UDID-1')).cert.serialHex;
      real.second = (await issueForDevice(server, files.dir, a, 'UDID-1')).cert.serialHex;
      real.revoked = (await issueForDevice(server, files.dir, a, 'UDID-2')).cert.serialHex;
      real.other = (await issueForDevice(server, files.dir, b, 'UDID-3')).cert.serialHex;
      await server.app.services.revocation.revoke(real.revoked, { reason: 'keyCompromise', actor: TEST_ACTOR });

      const now = Date.now();
      bulk = bulkRows(now);
      const db = server.app.services.db;
      const d = (x: Date) => dateParam(db.dialect, x);
      await db.transaction(async (m) => {
        for (const r of bulk) {
          const revoked = r.status === 'revoked';
          await rawQuery(
            m,
            db.dialect,
            'INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, endpoint_id, integration_id, device_id, status, revoked_at, revocation_reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [
              r.serial,
              `CN=${r.deviceId}`,
              r.serial.padEnd(64, '0'),
              r.serial.padEnd(64, '0'),
              d(new Date(now - 30 * DAY)),
              d(r.notAfter),
              Buffer.from([0x30, 0]),
              'bulk',
              r.integrationId,
              r.deviceId,
              r.status,
              revoked ? d(new Date(now)) : null,
              revoked ? 1 : null,
              d(new Date(now)),
            ],
          );
        }
      });
      const ids: { id: number; serial: string }[] = await rawQuery(
        db.manager,
        db.dialect,
        "SELECT id, serial FROM certificates WHERE endpoint_id = 'bulk'",
        [],
      );
      const byserial = new Map(ids.map((r) => [r.serial, Number(r.id)]));
      for (const r of bulk) r.id = byserial.get(r.serial);

      const inventory = new InventoryRepository(db);
      const devices = (n: number, prefix: string) =>
        Array.from({ length: n }, (_, i) => ({
          udid: `${prefix}${String(i).padStart(4, '0')}`,
          serialNumber: `SN${i}`,
          platform: i % 3 === 0 ? 'Android' : 'Apple',
          enrollmentStatus: i === 5 ? 'Unenrolled' : 'Enrolled',
          userName: `user${i}`,
          lastSeen: new Date(now - DAY),
        }));
      await replaceInventory(inventory, a, devices(30, 'AAUDID-'), new Date(now));
      await replaceInventory(inventory, b, devices(5, 'BBUDID-'), new Date(now));
    });
    after(async () => {
      await server?.destroy();
      await drop?.();
    });

    it('pages every certificate exactly once in id order, by cursor; a deep page costs no OFFSET', async () => {
      const items = await walk('certificates', '', 37);
      const ids = items.map((c) => c.id);
      expect(ids).to.deep.equal([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).to.equal(BULK + 4);
      const revoked = items.find((c) => c.serial === real.revoked);
      expect(revoked).to.include({ status: 'revoked', reason: 'keyCompromise', integrationId: a, deviceId: 'UDID-2' });
      expect(items.find((c) => c.serial === real.first)).to.include({ status: 'superseded', deviceId: 'UDID-1' });
      // the legacy `after` (an id) still pages the id order
      const after = await api(`/certificates?after=${ids[100]}&limit=5`);
      expect(after.body.certificates.map((c: { id: number }) => c.id)).to.deep.equal(ids.slice(101, 106));
      expect(after.body.next).to.equal(ids[105]);
    });

    it('descending order: every list and order walked backwards by cursor is the ascending walk reversed', async () => {
      const lists = server.app.services.lists;
      type Kind = 'certificates' | 'devices' | 'inventory';
      const all = async (kind: Kind, raw: Record<string, string>, limit: number) => {
        const items: any[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const p = await lists[kind]({ ...raw, cursor }, limit);
          expect(p.items.length).to.be.at.most(limit);
          items.push(...p.items);
          cursor = p.nextCursor ?? undefined;
          if (++pages > 500) throw new Error('paging does not end');
        } while (cursor);
        return items;
      };
      const keyOf: Record<Kind, (i: any) => string> = {
        certificates: (c) => c.serial,
        devices: (v) => `${v.integrationId}/${v.deviceId}`,
        inventory: (v) => `${v.integrationId}/${v.udid}`,
      };
      const cases: [Kind, Record<string, string>][] = [
        ['certificates', {}],
        ['certificates', { sort: 'notAfter' }],
        ['certificates', { sort: 'device' }],
        ['certificates', { sort: 'device', device: 'bulk-01' }],
        ['certificates', { status: 'valid', integration: 'DI-BULK1' }],
        ['certificates', { expiringBefore: new Date(Date.now() + 30 * DAY).toISOString() }],
        ['devices', {}],
        ['devices', { integration: 'DI-BULK2' }],
        ['devices', { trust: 'revoked' }],
        ['devices', { device: 'bulk-0' }],
        ['devices', { trust: 'trusted', integration: 'DI-BULK0', device: 'bulk-02' }],
        ['inventory', {}],
        ['inventory', { device: 'aaudid-001' }],
        ['inventory', { platform: 'Apple' }],
      ];
      for (const [kind, raw] of cases) {
        const up = (await all(kind, raw, 7)).map(keyOf[kind]);
        const down = (await all(kind, { ...raw, dir: 'desc' }, 7)).map(keyOf[kind]);
        expect(up.length, `${kind} ${JSON.stringify(raw)}`).to.be.greaterThan(1);
        expect(down, `${kind} ${JSON.stringify(raw)} descending`).to.deep.equal([...up].reverse());
      }
      // a cursor of one direction does not fit the other
      const desc = await lists.certificates({ dir: 'desc' }, 5);
      const refused = await lists.certificates({ cursor: desc.nextCursor! }, 5).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(refused).to.match(/cursor is not a cursor of this list/);
      const bad = await lists.devices({ dir: 'down' }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(bad).to.equal('dir must be one of asc, desc');
    });

    it('filters: status (each), integration, device prefix, expiring before, combined', async () => {
      const now = Date.now();
      const expect_ = (pred: (r: Bulk) => boolean) =>
        bulk
          .filter(pred)
          .map((r) => r.serial)
          .sort();
      const ours = new Set(bulk.map((r) => r.serial));
      const serials = (items: { serial: string }[]) =>
        items
          .map((c) => c.serial)
          .filter((s) => ours.has(s))
          .sort();
      const expired = await walk('certificates', 'status=expired', 13);
      expect(serials(expired)).to.deep.equal(expect_((r) => r.status !== 'revoked' && r.notAfter.getTime() <= now));
      const times = expired.map((c) => Date.parse(c.notAfter));
      expect(times).to.deep.equal([...times].sort((x, y) => x - y)); // soonest first
      expect(serials(await walk('certificates', 'status=revoked', 11))).to.deep.equal(expect_((r) => r.status === 'revoked'));
      expect(serials(await walk('certificates', 'status=superseded', 11))).to.deep.equal(
        expect_((r) => r.status === 'superseded' && r.notAfter.getTime() > now),
      );
      const valid = await walk('certificates', 'status=valid', 50);
      expect(serials(valid)).to.deep.equal(expect_((r) => r.status !== 'revoked' && r.notAfter.getTime() > now));
      expect(valid.map((c) => c.serial)).to.include.members([real.first, real.second, real.other]);
      expect(serials(await walk('certificates', 'integration=DI-BULK1', 17))).to.deep.equal(expect_((r) => r.integrationId === 'DI-BULK1'));
      expect(serials(await walk('certificates', 'integration=DI-BULK1&status=revoked', 3))).to.deep.equal(
        expect_((r) => r.integrationId === 'DI-BULK1' && r.status === 'revoked'),
      );
      const byDevice = await walk('certificates', 'device=bulk-01', 4);
      expect(serials(byDevice)).to.deep.equal(expect_((r) => r.deviceId.startsWith('bulk-01')));
      expect(byDevice.map((c) => c.deviceId)).to.deep.equal(byDevice.map((c) => c.deviceId).sort(byString));
      const before = new Date(now + 10 * DAY).toISOString();
      expect(serials(await walk('certificates', `expiringBefore=${before}`, 9))).to.deep.equal(expect_((r) => r.notAfter.getTime() < now + 10 * DAY));
      const udid = await walk('certificates', 'device=UDID-', 2);
      expect(udid.map((c) => c.serial).sort(byString)).to.deep.equal(Object.values(real).sort(byString));
    });

    it('devices: counts, latest serial, trust, last seen; filters and paging', async () => {
      const ofA = (await api(`/devices?integration=${a}`)).body.devices;
      expect(ofA).to.deep.equal([
        {
          integrationId: a,
          deviceId: 'UDID-1',
          certificates: 2,
          validCertificates: 2,
          revokedCertificates: 0,
          latestSerial: real.second,
          trust: 'trusted',
          lastSeenAt: null,
        },
        {
          integrationId: a,
          deviceId: 'UDID-2',
          certificates: 1,
          validCertificates: 0,
          revokedCertificates: 1,
          latestSerial: real.revoked,
          trust: 'revoked',
          lastSeenAt: null,
        },
      ]);
      const all = await walk('devices', '', 9);
      const pairs = all.map((d) => `${d.deviceId}|${d.integrationId}`);
      expect(new Set(pairs).size).to.equal(pairs.length);
      const expected = new Set(bulk.map((r) => `${r.deviceId}|${r.integrationId}`));
      expect(pairs.filter((p) => !p.startsWith('UDID-')).sort()).to.deep.equal([...expected].sort());
      const now = Date.now();
      const trustOf = (key: string) => {
        const rows = bulk.filter((r) => `${r.deviceId}|${r.integrationId}` === key);
        return rows.some((r) => r.status !== 'revoked' && r.notAfter.getTime() > now)
          ? 'trusted'
          : rows.some((r) => r.status === 'revoked')
            ? 'revoked'
            : 'expired';
      };
      for (const t of ['trusted', 'revoked', 'expired']) {
        const got = (await walk('devices', `trust=${t}`, 7)).map((d) => `${d.deviceId}|${d.integrationId}`).filter((p) => !p.startsWith('UDID-'));
        expect(got.sort(), t).to.deep.equal([...expected].filter((k) => trustOf(k) === t).sort());
      }
      const prefixed = await walk('devices', 'device=bulk-04&integration=DI-BULK2', 2);
      expect(prefixed.map((d) => d.deviceId)).to.deep.equal(
        [...new Set(bulk.filter((r) => r.integrationId === 'DI-BULK2' && r.deviceId.startsWith('bulk-04')).map((r) => r.deviceId))].sort(),
      );
    });

    it('the synced WS1 inventory: every device once, filters (platform, status, UDID prefix in any case)', async () => {
      const all = await walk('inventory', '', 4);
      expect(all).to.have.length(35);
      // integration by integration (by id), then by UDID
      const keys = all.map((d) => `${d.integrationId}|${d.udid}`);
      expect(keys).to.deep.equal([...keys].sort());
      expect(all[0]).to.include({ integrationId: a < b ? a : b, platform: 'Android', enrollmentStatus: 'Enrolled', serialNumber: 'SN0', userName: 'user0' });
      expect((await walk('inventory', 'platform=Android', 3)).map((d) => d.udid)).to.have.length(10 + 2);
      expect((await walk('inventory', `integration=${b}&platform=Android`, 3)).map((d) => d.udid)).to.deep.equal(['BBUDID-0000', 'BBUDID-0003']);
      expect((await api('/inventory?enrollmentStatus=Unenrolled')).body.inventory.map((d: { udid: string }) => d.udid).sort()).to.deep.equal(['AAUDID-0005']);
      expect((await api('/inventory?device=aaudid-001')).body.inventory.map((d: { udid: string }) => d.udid)).to.deep.equal(
        Array.from({ length: 10 }, (_, i) => `AAUDID-001${i}`),
      );
    });

    it('format=csv streams every page as CSV (header, rows, formula cells neutralised)', async () => {
      const r = await api('/certificates?format=csv&integration=DI-BULK1');
      expect(r.status).to.equal(200);
      expect(r.type).to.match(/^text\/csv/);
      const lines = r.text.trimEnd().split('\n');
      expect(lines[0]).to.equal('serial,subject,status,integrationId,deviceId,notBefore,notAfter,revokedAt,reason,lastSeenAt,id');
      expect(lines.length - 1).to.equal(bulk.filter((x) => x.integrationId === 'DI-BULK1').length);
      const formula = await api('/certificates?format=csv&device=%3DHYPER');
      expect(formula.text.trimEnd().split('\n')).to.have.length(3);
      expect(formula.text).to.contain(`,"'=HYPERLINK(""x"")",`);
      const whole = await api('/certificates?format=csv');
      expect(whole.text.trimEnd().split('\n')).to.have.length(BULK + 4 + 1); // more than one export page
      const devices = await api(`/devices?format=csv&integration=${a}`);
      expect(devices.text.trimEnd().split('\n').slice(1)).to.deep.equal([
        `${a},UDID-1,trusted,2,2,0,${real.second},`,
        `${a},UDID-2,revoked,1,0,1,${real.revoked},`,
      ]);
      const inv = await api('/inventory?format=csv&platform=Android');
      expect(inv.text.trimEnd().split('\n')).to.have.length(13);
      expect((await api('/inventory?format=csv&integration=DI-NONE')).text).to.equal(
        'integrationId,udid,platform,enrollmentStatus,serialNumber,macAddress,imei,userName,lastSeen,syncedAt\n',
      );
    });

    it('bad input: clear JSON 400s; a cursor only fits its own list and filters; a key is needed', async () => {
      const cursorOfDevices = (await api('/devices?limit=1')).body.nextCursor;
      const cases: [string, RegExp][] = [
        ['/certificates?limit=0', /limit must be from 1 to 1000/],
        ['/certificates?limit=1001', /limit must be from 1 to 1000/],
        ['/certificates?limit=ten', /limit must be a whole number/],
        ['/certificates?status=bogus', /status must be one of valid, revoked, expired, superseded/],
        ['/certificates?cursor=%%%', /cursor is not a cursor of this list/],
        [`/certificates?cursor=${cursorOfDevices}`, /cursor is not a cursor of this list/],
        [`/devices?integration=${a}&cursor=${cursorOfDevices}`, /cursor is not a cursor of this list/],
        [
          `/certificates?status=expired&cursor=${Buffer.from('{"o":"certificates:notAfter","k":["not a time",1]}').toString('base64url')}`,
          /cursor is not a cursor of this list/,
        ],
        [`/certificates?cursor=${Buffer.from('{"o":"certificates:id","k":[1.5]}').toString('base64url')}`, /cursor is not a cursor of this list/],
        ['/certificates?expiringBefore=tomorrow', /expiringBefore must be a date/],
        ['/certificates?integration=a%20b', /integration must be an integration id/],
        ['/certificates?stauts=revoked', /unknown parameter stauts/],
        ['/certificates?status=revoked&status=valid', /status may be given once/],
        ['/devices?trust=maybe', /trust must be one of trusted, revoked, expired/],
        ['/inventory?format=xml', /format must be json or csv/],
        ['/certificates?status=expired&after=3', /after \(a certificate id\) pages only lists in id order/],
      ];
      for (const [p, message] of cases) {
        const r = await api(p);
        expect(r.status, p).to.equal(400);
        expect(r.body.error, p).to.equal('bad_request');
        expect(r.body.message, p).to.match(message);
      }
      expect((await fetch(`${server.url}/admin/v1/devices`)).status).to.equal(401);
    });

    if (dialect === 'sqlite')
      it('CLI: cert list, device list, inventory list with --json, --csv, --cursor; errors exit 1', async () => {
        const p1 = JSON.parse((await cli(server, ['--json', 'cert', 'list', '--status', 'revoked', '--limit', '3'])).stdout);
        expect(p1.certificates).to.have.length(3);
        const p2 = JSON.parse((await cli(server, ['--json', 'cert', 'list', '--status', 'revoked', '--limit', '3', '--cursor', p1.nextCursor])).stdout);
        expect(p2.certificates[0].id).to.be.greaterThan(p1.certificates[2].id);
        expect(p1.next).to.equal(p1.certificates[2].id);
        const viaAfter = JSON.parse((await cli(server, ['--json', 'cert', 'list', '--status', 'revoked', '--limit', '3', '--after', String(p1.next)])).stdout);
        expect(viaAfter.certificates).to.deep.equal(p2.certificates);
        const text = await cli(server, ['cert', 'list', '--limit', '2']);
        expect(text.stdout).to.match(/^SERIAL +STATUS +NOT AFTER +INTEGRATION +DEVICE +SUBJECT\n[0-9A-F]{32} +(valid|superseded|revoked) /);
        expect(text.stdout).to.match(/\(more: --cursor [A-Za-z0-9_-]+\)\n$/);
        const devices = await cli(server, ['device', 'list', '--csv', '--integration', a]);
        expect(devices.code, devices.stderr).to.equal(0);
        expect(devices.stdout).to.equal(
          `integrationId,deviceId,trust,certificates,validCertificates,revokedCertificates,latestSerial,lastSeenAt\n${a},UDID-1,trusted,2,2,0,${real.second},\n${a},UDID-2,revoked,1,0,1,${real.revoked},\n`,
        );
        const devText = await cli(server, ['device', 'list', '--integration', a]);
        expect(devText.stdout.split('\n')[0]).to.match(/^INTEGRATION +DEVICE +TRUST +CERTS +VALID +LATEST SERIAL +LAST SEEN$/);
        const all = await cli(server, ['cert', 'list', '--csv']);
        expect(all.stdout.trimEnd().split('\n')).to.have.length(BULK + 5);
        const inv = JSON.parse((await cli(server, ['--json', 'inventory', 'list', '--platform', 'Android', '--integration', b])).stdout);
        expect(inv.inventory.map((d: { udid: string }) => d.udid)).to.deep.equal(['BBUDID-0000', 'BBUDID-0003']);
        const bad = await cli(server, ['cert', 'list', '--cursor', 'garbage!']);
        expect(bad.code).to.equal(1);
        expect(bad.stderr).to.contain('cursor is not a cursor of this list');
        const badJson = await cli(server, ['--json', 'device', 'list', '--limit', '0']);
        expect(badJson.code).to.equal(1);
        expect(JSON.parse(badJson.stdout)).to.deep.equal({ error: 'limit must be from 1 to 1000' });
      });

    it("a deleted integration's inventory is no longer listed; its certificates and devices still are", async () => {
      await server.app.services.integrations.markDeleted(b, TEST_ACTOR);
      const inv = await walk('inventory', '', 50);
      expect(inv.map((d) => d.integrationId)).to.deep.equal(Array(30).fill(a));
      expect((await api(`/devices?integration=${b}`)).body.devices.map((d: { deviceId: string }) => d.deviceId)).to.deep.equal(['UDID-3']);
    });
  });
}
