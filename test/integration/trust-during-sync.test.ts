import { expect } from 'chai';
import { InventoryRepository, placeholders } from '../../src/db/inventory.repository';
import { syncDevices } from '../../src/mdm/workspace-one/device-sync';
import { replaceInventory } from '../../src/mdm/workspace-one/inventory-store.ports';
import { pemEncode } from '../../src/pki/der';
import { pagedSource, ws1Device } from '../unit/mdm/workspace-one/inventory-source-support';
import { databaseEnv } from '../support/postgres';
import { IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { mtlsCheck } from './trust-support';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`device trust during a WS1 sync on ${dialect} (real server): answers come from the old inventory until the switch`, function () {
    this.timeout(120_000);
    let server: IntegrationServer;
    let drop: (() => Promise<void>) | undefined;
    let caPem: string;
    let integrationId: string;

    const services = () => server.app.services;
    const check = async (identifier: string) => {
      const r = await mtlsCheck(server.app.tlsPort(), caPem, '', undefined, { method: 'POST', body: { user: 'alice', identifier, platform: 'windows' } });
      const body = r.body as { trusted: boolean; reason: string; device?: string };
      expect(r.status, identifier).to.equal(body.trusted ? 200 : 403); // the require-trusted policy denies the rest
      return body;
    };

    before(async function () {
      const { env, drop: dropDatabase } = await databaseEnv(dialect);
      drop = dropDatabase;
      server = await startIntegrationServer(env);
      caPem = pemEncode('CERTIFICATE', services().authority.caCertificate.der);
      integrationId = (await services().integrations.create({ type: 'windows', name: 'Windows fleet' }, TEST_ACTOR)).id;
      await services().integrations.setStatus(integrationId, 'all', undefined, TEST_ACTOR);
      await services().trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
      await server.app.trust.refresh();
    });
    after(async () => {
      await server?.destroy();
      await drop?.();
    });

    it('a device only in the old inventory stays trusted, and one only in the new stays unknown, until the walk has finished', async () => {
      const inventory = new InventoryRepository(services().db);
      const old = { udid: 'OLD-UDID-0001', serialNumber: 'OLDSERIAL1', platform: 'WinRT', enrollmentStatus: 'Enrolled' };
      await replaceInventory(inventory, integrationId, [old], new Date());
      const fresh = Array.from({ length: 7_500 }, (_, i) => ws1Device(i));
      const newcomer = fresh[0]!;

      let paused!: () => void;
      const atPause = new Promise<void>((resolve) => (paused = resolve));
      let resume!: () => void;
      const gate = new Promise<void>((resolve) => (resume = resolve));
      const walk = syncDevices({
        client: pagedSource(fresh, 500, async (page) => {
          if (page !== 12) return;
          paused();
          await gate;
        }),
        platform: 'WinRT',
        store: inventory,
        integrationId,
      });
      await atPause;
      // wait until the pages already walked are really in the database, beside the current generation
      const rows = () =>
        services()
          .db.manager.query(placeholders(services().db.dialect, 'SELECT COUNT(*) AS n FROM ws1_devices WHERE integration_id = ?'), [integrationId])
          .then((r: { n: string | number }[]) => Number(r[0]!.n));
      for (let i = 0; (await rows()) < 1 + 5_000; i++) {
        if (i > 200) throw new Error('the walked pages never reached the database');
        await new Promise((r) => setTimeout(r, 25));
      }

      for (let i = 0; i < 5; i++) {
        expect(await check('oldserial1')).to.include({ trusted: true, reason: 'trusted', device: old.udid });
        expect(await check(newcomer.udid!.toLowerCase())).to.include({ trusted: false, reason: 'device-not-found' });
        expect(await check(newcomer.serialNumber!)).to.include({ trusted: false, reason: 'device-not-found' });
      }

      resume();
      const r = await walk;
      expect(r).to.include({ ok: true, managed: 7_500 });
      expect(await check('oldserial1')).to.include({ trusted: false, reason: 'device-not-found' });
      expect(await check(newcomer.udid!.toLowerCase())).to.include({ trusted: true, reason: 'trusted', device: newcomer.udid });
      expect(await rows()).to.equal(7_500); // the old generation is gone
    });
  });
}
