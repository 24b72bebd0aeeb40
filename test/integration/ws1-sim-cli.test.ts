import path from 'node:path';
import { expect } from 'chai';
import { run, spawnDaemon, waitFor } from '../support/proc';
import { freeTcpPort } from '../support/test-server';
import { SIM_DEFAULTS } from '../../scripts/ws1-sim/ws1-simulator';

const SIM = path.resolve(__dirname, '..', '..', 'scripts', 'ws1-sim', 'main.js');

describe('WS1 simulator command line', function () {
  it('--help shows the default account, password and tenant code, the inventory format and --fault', async () => {
    const r = await run(process.execPath, [SIM, '--help']);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout).to.contain(`--password PW               its password (default ${SIM_DEFAULTS.password})`);
    expect(r.stdout).to.contain(`(default ${SIM_DEFAULTS.username})`);
    expect(r.stdout).to.contain('--fault SPEC');
    expect(r.stdout).to.contain('{"Devices":[{"Udid":');
    const bad = await run(process.execPath, [SIM, '--fault', 'status:99']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr.trim()).to.equal('--fault wants status:CODE, hang or reset, got "status:99"');
  });

  it('--fault status:503,times=1 fails the first search once, then answers', async () => {
    const port = await freeTcpPort();
    const sim = spawnDaemon(process.execPath, [SIM, '--port', String(port), '--devices-per-platform', '3', '--fault', 'status:503,times=1']);
    try {
      await waitFor(() => /WS1 simulator on/.test(sim.output()), 20_000, 'the simulator');
      const search = () =>
        fetch(`http://127.0.0.1:${port}/API/mdm/devices/search?platform=Apple&page=0&pagesize=10`, {
          headers: {
            Authorization: `Basic ${Buffer.from(`${SIM_DEFAULTS.username}:${SIM_DEFAULTS.password}`).toString('base64')}`,
            'aw-tenant-code': SIM_DEFAULTS.tenantCode,
            Accept: 'application/json;version=2',
          },
        });
      expect((await search()).status).to.equal(503);
      const ok = await search();
      expect(ok.status).to.equal(200);
      expect(((await ok.json()) as { Devices: unknown[] }).Devices).to.have.length(3);
    } finally {
      await sim.stop();
    }
  });
});
