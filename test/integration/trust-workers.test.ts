import { expect } from 'chai';
import path from 'node:path';
import { pemEncode } from '../../src/pki/der';
import { pooledKeys } from '../support/keys';
import { freePort } from '../support/ports';
import { createTestDatabase } from '../support/postgres';
import { run, spawnDaemon, waitFor, type Daemon } from '../support/proc';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { Device, enrollDevice, mtlsCheck } from './trust-support';

const SERVER = path.resolve(__dirname, '../../src/server.js');
const BIN = path.resolve(__dirname, '../../../bin/scepter');

/** SCEPTER_WORKERS=2 (PostgreSQL: SQLite allows one worker): two processes share the ports and each keeps its own in-memory trust state. */
describe('device trust with SCEPTER_WORKERS=2 (node:cluster)', function () {
  let seed: IntegrationServer;
  let device: Device;
  let daemon: Daemon;
  let env: Record<string, string>;
  let tlsPort: number;
  let caPem: string;
  let database: { url: string; drop: () => Promise<void> } | undefined;

  before(async () => {
    database = await createTestDatabase();
    seed = await startIntegrationServer({ SCEPTER_DATABASE: database.url });
    const integ = await createIosCerts(seed);
    await seed.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    await seed.app.services.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
    device = await enrollDevice(seed, integ, 'UDID-WORKERS-1', (await pooledKeys(1))[0]);
    caPem = pemEncode('CERTIFICATE', seed.app.services.authority.caCertificate.der);
    await seed.stop();
    tlsPort = await freePort();
    env = { ...seed.env, SCEPTER_HTTP_PORT: String(await freePort()), SCEPTER_TLS_PORT: String(tlsPort), SCEPTER_WORKERS: '2' };
    daemon = spawnDaemon(process.execPath, [SERVER], { env: { ...process.env, ...env } });
    await waitFor(() => daemon.output().includes('Device trust'), 60_000, 'the workers');
  });
  after(async () => {
    await daemon?.stop();
    await seed?.destroy();
    await database?.drop();
  });

  it('answers from both workers, applies a CLI policy change in every worker within a second, and writes every log entry on SIGTERM', async () => {
    for (let i = 0; i < 10; i++) expect((await mtlsCheck(tlsPort, caPem, `user=w${i}`, device)).body).to.include({ trusted: true, decision: 'allow' });
    const cli = await run(process.execPath, [BIN, 'policy', 'set', 'allow-all'], { env: { ...process.env, ...env }, timeoutMs: 60_000 });
    expect(cli.exitCode, cli.stderr).to.equal(0);
    await new Promise((r) => setTimeout(r, 1000));
    // fresh connections are spread over both workers (round robin): all of them must have seen it
    for (let i = 0; i < 10; i++) expect((await mtlsCheck(tlsPort, caPem, 'user=after')).body).to.include({ policy: 'allow-all', decision: 'allow' });
    daemon.child.kill('SIGTERM');
    await daemon.exited;
    const log = await run(process.execPath, [BIN, 'auth-log', '--since', '10m', '--limit', '1000', '--json'], {
      env: { ...process.env, ...env },
      timeoutMs: 60_000,
    });
    expect(JSON.parse(log.stdout).entries).to.have.length(20);
  });
});
