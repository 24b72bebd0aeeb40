import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIGRATION_STATES, MIGRATION_STEPS, type MigrationState } from '../../../src/migration/migration.types';
import { percent, readinessFromLive, readinessFromSync } from '../../../src/migration/readiness';
import { writeReport } from '../../../src/migration/report-writer';
import { decide } from '../../../src/migration/state-machine';

describe('migration state machine', () => {
  const kind = (step: (typeof MIGRATION_STEPS)[number], state: MigrationState | null) => {
    try {
      return decide(step, state, 'DIX').kind;
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  };

  it('runs each step only from the states the rules allow', () => {
    const table: Record<string, string[]> = {};
    for (const step of MIGRATION_STEPS) table[step] = [null, ...MIGRATION_STATES].map((s) => kind(step, s).replace(/^error:.*/, 'error'));
    // columns: none, planned, applied, verified, cut-over, finalized, rolled-back
    expect(table).to.deep.equal({
      plan: ['run', 'run', 'report', 'report', 'report', 'error', 'run'],
      apply: ['error', 'run', 'done', 'done', 'done', 'error', 'error'],
      verify: ['error', 'error', 'run', 'run', 'done', 'error', 'error'],
      cutover: ['error', 'error', 'error', 'run', 'done', 'error', 'error'],
      finalize: ['error', 'error', 'error', 'error', 'run', 'error', 'error'],
      rollback: ['error', 'run', 'run', 'run', 'run', 'error', 'done'],
    });
  });

  it('says what to run instead', () => {
    expect(kind('cutover', 'applied')).to.contain('run scepter migrate verify DIX first');
    expect(kind('apply', 'rolled-back')).to.contain('rolled back: run scepter migrate plan DIX to start again');
    expect(kind('finalize', 'finalized')).to.contain('already finalized');
    expect(kind('verify', null)).to.contain('no migration of DIX yet: run scepter migrate plan DIX first');
  });
});

describe('migration readiness and reports', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const cert = (serial: string, deviceId: string, days = 100) => ({ serial, deviceId, notAfter: new Date(at.getTime() + days * 86_400_000) });
  const certs = [cert('01', 'UDID-A'), cert('02', 'udid-b'), cert('03', 'UDID-A', 200), cert('04', 'UDID-C'), cert('05', '=HYPERLINK("x")')];

  it('groups certificates per device and matches UDIDs case-insensitively against the live inventory', () => {
    const r = readinessFromLive(
      certs,
      new Map([
        ['udid-a', { enrollmentStatus: 'Enrolled', userName: 'ann' }],
        ['udid-b', { enrollmentStatus: 'Unenrolled' }],
      ]),
      at,
    );
    expect(r).to.include({ total: 4, ready: 1, atRisk: 3, percentReady: 25 });
    expect(r.byReason).to.deep.equal({ 'not-enrolled': 1, 'not-in-ws1': 2 });
    const a = r.devices.find((d) => d.udid === 'UDID-A')!;
    expect(a).to.deep.include({ ready: true, serials: ['01', '03'], ws1User: 'ann' });
    expect(a.notAfter.getTime()).to.equal(at.getTime() + 200 * 86_400_000);
  });

  it('against the synced inventory, explains the missing ones with the live one when given', () => {
    const synced = new Set(['udid-a']);
    expect(readinessFromSync(certs, synced, at).byReason).to.deep.equal({ 'not-synced': 3 });
    const live = new Map([
      ['udid-b', { enrollmentStatus: 'Unenrolled' }],
      ['udid-c', { enrollmentStatus: 'Enrolled' }],
    ]);
    expect(readinessFromSync(certs, synced, at, live).byReason).to.deep.equal({ 'not-enrolled': 1, 'not-synced': 1, 'not-in-ws1': 1 });
  });

  it('never rounds a percentage up past a threshold', () => {
    expect(percent(1899, 2000)).to.equal(94.9);
    expect(percent(0, 0)).to.equal(100);
  });

  it('writes JSON, CSV (formulas defused, quoted) and Markdown', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-report-'));
    try {
      const readiness = readinessFromLive(certs, new Map(), at);
      const files = writeReport(dir, {
        step: 'plan',
        legacyId: 'DIX',
        legacyName: 'x',
        appConfigId: null,
        outcome: 'done',
        stateBefore: null,
        state: 'planned',
        at,
        actions: ['a | b'],
        warnings: [],
        readiness,
      });
      expect(JSON.parse(fs.readFileSync(files.json, 'utf8')).readiness.total).to.equal(4);
      const csv = fs.readFileSync(files.csv, 'utf8').trim().split('\n');
      expect(csv).to.have.length(5);
      expect(csv[1]).to.equal(
        `"'=HYPERLINK(""x"")",at-risk,not-in-ws1,not in the WS1 inventory of managed iOS devices,,,1,05,${certs[4]!.notAfter.toISOString()}`,
      );
      expect(fs.readFileSync(files.markdown, 'utf8')).to.contain('- a \\| b').and.contain('### Devices at risk');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
