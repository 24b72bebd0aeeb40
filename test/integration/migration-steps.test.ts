// every refusal is one line, a non-zero exit and no change; a step killed at any point
// (SIGKILL from outside while it talks to WS1, or injected inside its transaction just before the
// commit) and run again ends in the same state with nothing done twice; migrate-all stops at the
// first integration that is not ready.
import { expect } from 'chai';
import path from 'node:path';
import fs from 'node:fs';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { makeTempDir, waitFor } from '../support/proc';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { appleDevice, cli, CliResult, enrollMany, ok, refused, snapshot, spawnCli, udid } from './migration-support';

describe('migration steps: refusals, crashes and reruns, migrate-all', function () {
  this.timeout(180_000);
  let server: IntegrationServer;
  let sim: Ws1Simulator;
  let a: string; // the legacy integration the crash tests walk through
  let ready: string; // all devices in WS1: migrate-all takes it to cutover
  let notReady: string; // half its devices unknown to WS1: migrate-all stops there
  let windows: string;
  let reports: string;
  const m = (...args: string[]) => cli(server, ['migrate', ...args, '--report-dir', reports, '--json']);
  const state = async (id: string) =>
    (await server.app.services.db.manager.query('SELECT state FROM legacy_migrations WHERE legacy_integration_id = ?', [id]))[0]?.state ?? null;
  /** runs `args`, SIGKILLs it once `when` holds, and checks that it died of it */
  const killWhen = async (args: string[], when: () => boolean): Promise<CliResult> => {
    const { child, done } = spawnCli(server, ['migrate', ...args, '--report-dir', reports, '--json']);
    await waitFor(() => when() || child.exitCode !== null, 30_000, `${args[0]} to reach the kill point`);
    child.kill('SIGKILL');
    const r = await done;
    expect(r.signal, r.stdout + r.stderr).to.equal('SIGKILL');
    return r;
  };
  const crashAt = async (point: string, args: string[]) => {
    const r = await cli(server, ['migrate', ...args, '--report-dir', reports, '--json'], { SCEPTER_MIGRATION_CRASH_AT: point });
    expect(r.signal, r.stdout + r.stderr).to.equal('SIGKILL');
  };

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    reports = path.join(makeTempDir('scepter-migration-steps'), 'reports');
    const s = server.app.services;
    const make = async (name: string, prefix: string, n: number) => {
      const integ = await createIosCerts(server, name);
      await s.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
      return {
        id: integ.id,
        udids: (
          await enrollMany(
            server,
            integ,
            Array.from({ length: n }, (_, i) => udid(prefix, i)),
          )
        ).map((d) => d.udid),
      };
    };
    const A = await make('A', 'aaaa', 6);
    const R = await make('Ready', 'bbbb', 3);
    const N = await make('Not ready', 'cccc', 4);
    [a, ready, notReady] = [A.id, R.id, N.id];
    // A: one device unknown to WS1 (83% ready); Ready: all; Not ready: two of four
    sim = await startWs1Simulator({ inventory: [...A.udids.slice(1), ...R.udids, ...N.udids.slice(2)].map((u) => appleDevice(u)) });
    windows = (await s.integrations.create({ type: 'windows', name: 'PCs', allowLegacy: false }, TEST_ACTOR)).id;
    await s.ws1Settings.configure(
      windows,
      { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
      TEST_ACTOR,
    );
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
  });
  afterEach(() => sim.setLatency(0));

  it('refuses an unknown integration, one that is not ios-certs, missing WS1 settings and steps out of order, changing nothing', async () => {
    const before = await snapshot(server);
    refused(await cli(server, ['migrate', 'plan', 'DINOSUCHINTEGRATION', '--ws1-from', windows]), /^scepter: no integration DINOSUCHINTEGRATION$/m);
    refused(await cli(server, ['migrate', 'plan', windows, '--ws1-from', windows]), /is of type windows, not ios-certs/);
    refused(await cli(server, ['migrate', 'plan', a]), /missing WS1 settings: give --ws1-from/);
    refused(await cli(server, ['migrate', 'plan', a, '--ws1-url', sim.url]), /missing WS1 settings/);
    refused(await cli(server, ['migrate', 'plan', a, '--ws1-from', 'DINOSUCHINTEGRATION']), /no integration DINOSUCHINTEGRATION \(--ws1-from\)/);
    refused(await cli(server, ['migrate', 'cutover', a, '--yes']), /no migration of .* yet: run scepter migrate plan/);
    // a report directory that cannot be written is refused before the step runs, not after it committed
    const notADir = path.join(server.dir, 'a-file');
    fs.writeFileSync(notADir, '');
    for (const [stepName, extra] of [
      ['plan', ['--ws1-from', windows]],
      ['apply', ['--yes']],
    ] as const)
      refused(
        await cli(server, ['migrate', stepName, a, ...extra, '--report-dir', notADir]),
        /cannot write reports to .*a-file \(--report-dir\): (EEXIST|ENOTDIR); nothing was changed/,
      );
    refused(
      await cli(server, ['migrate-all', '--ws1-from', windows, '--yes', '--report-dir', path.join(notADir, 'sub')]),
      /cannot write reports to .* nothing was changed/,
    );
    const j = await cli(server, ['migrate', 'finalize', a, '--json']);
    expect(j.code).to.equal(1);
    expect(JSON.parse(j.stdout).error).to.match(/no migration/);
    expect(await snapshot(server)).to.equal(before);
  });

  it('plan killed while it waits for WS1: nothing recorded; run again: planned', async () => {
    const before = await snapshot(server);
    sim.setLatency(3000);
    const seen = sim.stats.searchRequests;
    await killWhen(['plan', a, '--ws1-from', windows], () => sim.stats.searchRequests > seen);
    sim.setLatency(0);
    expect(await snapshot(server)).to.equal(before);
    const r = ok(await m('plan', a, '--ws1-from', windows));
    expect(r.readiness).to.include({ total: 6, ready: 5 });
    expect(await state(a)).to.equal('planned');
  });

  it('apply needs --yes without a terminal; --dry-run shows it and changes nothing; out of order is refused', async () => {
    const before = await snapshot(server);
    refused(await cli(server, ['migrate', 'apply', a]), /without --yes/);
    const dry = ok(await m('apply', a, '--dry-run'));
    expect(dry.outcome).to.equal('dry-run');
    // a dry run names no id: the real apply draws it, so no id is shown that apply would not use
    expect(dry.actions[0]).to.equal('create an App Config (ios) integration "A (App Config)" with status disabled (its id is assigned when it is created)');
    expect(dry.appConfigId).to.equal(null);
    refused(await cli(server, ['migrate', 'verify', a]), /the migration is planned; run scepter migrate apply/);
    refused(await cli(server, ['migrate', 'rollback', 'DINOSUCHINTEGRATION', '--yes']), /no integration/);
    expect(await snapshot(server)).to.equal(before);
  });

  it('apply killed inside its transaction: no integration, no key, still planned; run again: exactly one App Config integration', async () => {
    const before = await snapshot(server);
    await crashAt('apply:before-commit', ['apply', a, '--yes']);
    expect(await snapshot(server)).to.equal(before);
    expect(ok(await m('apply', a, '--yes')).state).to.equal('applied');
    const rows = await server.app.services.db.manager.query("SELECT COUNT(*) AS n FROM integrations WHERE type = 'ios' AND name = 'A (App Config)'");
    expect(Number(rows[0].n)).to.equal(1);
    expect(ok(await m('apply', a, '--yes')).outcome).to.equal('already');
  });

  it('verify killed after its sync, before its commit: still applied; run again: verified', async () => {
    sim.setLatency(800);
    const seen = sim.stats.searchRequests;
    // Test Configuration, the sync's page, then the live search explaining the missing device
    await killWhen(['verify', a], () => sim.stats.searchRequests >= seen + 3);
    sim.setLatency(0);
    expect(await state(a)).to.equal('applied');
    const r = ok(await m('verify', a));
    expect(r).to.include({ state: 'verified' });
    expect(r.readiness).to.include({ total: 6, ready: 5 });
    expect(r.readiness.byReason).to.deep.equal({ 'not-in-ws1': 1 });
  });

  it('cutover killed inside its transaction: both statuses unchanged; run again: cut over once', async () => {
    const before = await snapshot(server);
    await crashAt('cutover:before-commit', ['cutover', a, '--min-ready', '80', '--yes']);
    expect(await snapshot(server)).to.equal(before);
    const cut = ok(await m('cutover', a, '--min-ready', '80', '--yes'));
    expect(cut.state).to.equal('cut-over');
    // the device verify called not-in-ws1 has the same name here
    expect(cut.readiness.byReason).to.deep.equal({ 'not-in-ws1': 1 });
    const again = ok(await m('cutover', a, '--yes'));
    expect(again).to.include({ outcome: 'already', state: 'cut-over' });
    expect((await server.app.services.integrations.get(a)).status).to.equal('disabled');
  });

  it('finalize killed inside its transaction: nothing revoked or deleted; run again: every certificate revoked once', async () => {
    const before = await snapshot(server);
    await crashAt('finalize:before-commit', ['finalize', a, '--grace', '0', '--yes']);
    expect(await snapshot(server)).to.equal(before);
    expect(ok(await m('finalize', a, '--grace', '0', '--yes'))).to.include({ state: 'finalized', revoked: 6 });
    const after = await snapshot(server);
    refused(await cli(server, ['migrate', 'finalize', a, '--grace', '0', '--yes']), /already finalized/);
    refused(await cli(server, ['migrate', 'rollback', a, '--yes']), /already finalized/);
    refused(await cli(server, ['migrate', 'plan', a, '--ws1-from', windows]), /already finalized/);
    expect(await snapshot(server)).to.equal(after);
    const deletes = (await server.app.services.audit.list({ limit: 1000, action: 'integration.delete' })).filter((e) => e.target === a);
    expect(deletes).to.have.length(1);
    expect(deletes[0]!.details).to.include({ revoked: 6 });
  });

  it('migrate-all --dry-run changes nothing; migrate-all cuts over the ready one and stops at the first that is not', async () => {
    const before = await snapshot(server);
    const dry = await cli(server, ['migrate-all', '--ws1-from', windows, '--dry-run', '--report-dir', reports, '--json']);
    expect(dry.code, dry.stdout + dry.stderr).to.equal(1);
    expect(JSON.parse(dry.stdout).entries.map((e: { legacyId: string; outcome: string }) => [e.legacyId, e.outcome])).to.deep.equal([
      [ready, 'would-migrate'],
      [notReady, 'not-ready'],
    ]);
    expect(await snapshot(server)).to.equal(before);
    const r = await cli(server, ['migrate-all', '--ws1-from', windows, '--yes', '--report-dir', reports, '--json']);
    expect(r.code, r.stderr).to.equal(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.stoppedAt, r.stdout + r.stderr).to.equal(notReady);
    expect(summary.entries.map((e: { legacyId: string; outcome: string }) => [e.legacyId, e.outcome])).to.deep.equal([
      [ready, 'migrated'],
      [notReady, 'not-ready'],
    ]);
    expect(summary.entries[1].note).to.contain('2 of 4 devices ready (50%)');
    expect(await state(ready)).to.equal('cut-over');
    expect(await state(notReady)).to.equal('planned');
    // a rerun resumes: nothing left to do for the ready one, the other still stops
    const again = JSON.parse((await cli(server, ['migrate-all', '--ws1-from', windows, '--yes', '--report-dir', reports, '--json'])).stdout);
    expect(again.entries.map((e: { outcome: string }) => e.outcome)).to.deep.equal(['migrated', 'not-ready']);
  });
});
