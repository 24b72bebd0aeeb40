// Helpers for the migration tests: the real CLI beside the running server, devices
// enrolled through SCEP, a WS1 simulator holding (most of) their UDIDs, and a database snapshot
// to prove that a refused step changed nothing.
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { KeyObject } from 'node:crypto';
import { newRsaKey } from '../../src/scep/client/scep-client';
import type { SimDeviceInput } from '../../scripts/ws1-sim/ws1-simulator';
import { IntegrationServer } from './integrations-support';
import { Device, enrollDevice } from './trust-support';

export const BIN = path.resolve(__dirname, '../../../bin/scepter');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `node bin/scepter ...` on the server's database and certs folder (not a terminal: no prompts). */
export function spawnCli(server: IntegrationServer, args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult> } {
  // cwd: the server's folder, so the default --report-dir never lands in the repository
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: server.dir,
    env: { ...process.env, ...server.env, SCEPTER_LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdin.end();
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function cli(server: IntegrationServer, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(server, args, env).done;
}

export function json<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code} ${r.signal ?? ''}): ${r.stdout}\n${r.stderr}`);
  }
}

/** Exit 0 and JSON on stdout. */
export function ok<T = any>(r: CliResult): T {
  expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
  return json<T>(r);
}

/** A refusal: non-zero exit and exactly one line on stderr. */
export function refused(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stdout + r.stderr).to.equal(1);
  expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
  expect(r.stderr).to.match(pattern);
}

/** What any migration step could change; equal before and after a refusal means nothing changed. */
export async function snapshot(server: IntegrationServer): Promise<string> {
  const q = (sql: string) => server.app.services.db.manager.query(sql);
  return JSON.stringify({
    migrations: await q('SELECT * FROM legacy_migrations ORDER BY legacy_integration_id'),
    integrations: await q('SELECT id, type, status, group_id, deleted_at FROM integrations ORDER BY id'),
    ws1: await q('SELECT integration_id FROM ws1_settings ORDER BY integration_id'),
    keys: await q('SELECT integration_id, config_key FROM app_config_keys ORDER BY integration_id'),
    certificates: await q('SELECT serial, status, revoked_at FROM certificates ORDER BY serial'),
    audit: await q("SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'migration.%' OR action LIKE 'integration.%'"),
  });
}

/** An iOS-looking UDID (40 hex digits), distinct per index. */
export function udid(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(4, '0')}`.padEnd(40, 'f').slice(0, 40);
}

/** Enrolls devices with our own SCEP client, a few at a time, each with its own new key. */
export async function enrollMany(
  server: IntegrationServer,
  integ: { id: string; challengeUsername: string; challengePassword: string },
  udids: string[],
): Promise<Device[]> {
  const keys: KeyObject[] = await Promise.all(udids.map(() => newRsaKey()));
  const out: Device[] = [];
  for (let i = 0; i < udids.length; i += 4) out.push(...(await Promise.all(udids.slice(i, i + 4).map((u, j) => enrollDevice(server, integ, u, keys[i + j]!)))));
  return out;
}

export function appleDevice(udidValue: string, extra: Partial<SimDeviceInput> = {}): SimDeviceInput {
  return {
    udid: udidValue,
    platform: 'Apple',
    enrollmentStatus: 'Enrolled',
    userName: `user-${udidValue.slice(-4)}`,
    serialNumber: `SN${udidValue.slice(0, 10).toUpperCase()}`,
    ...extra,
  };
}

/** Files the report folder holds for one step of one integration. */
export function reportFiles(dir: string, legacyId: string, step: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.startsWith(`${legacyId}-${step}-`))
        .sort()
    : [];
}

export function secretFile(dir: string, name: string, value: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, `${value}\n`, { mode: 0o600 });
  return f;
}

export const settle = (ms = 700) => new Promise((r) => setTimeout(r, ms));
