// Helpers for the integration tests: a server with a movable clock, ios-certs
// integrations, the challenge URL (also from another loopback address), and the NDES page regex.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { App } from '../../src/main';
import type { Logger } from '../../src/shared/logger';
import { Actor } from '../../src/admin/audit.types';
import { IntegrationView } from '../../src/integrations/integration.presenter';
import { ScepClient } from '../../src/scep/client/scep-client';
import { freeTcpPort, startTestServer } from '../support/test-server';
import { spawnDaemon, waitFor } from '../support/proc';

export const TEST_ACTOR: Actor = { who: 'test', from: 'test' };

/** A clock the test moves forward instead of sleeping. */
export class TestClock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface IntegrationServer {
  app: App;
  url: string;
  dir: string;
  env: Record<string, string>;
  clock: TestClock;
  scepClient(integrationId: string): ScepClient;
  /** another instance in this process (own DataSource, own limiter) on the same database; use
   * spawnServerProcess for SQLite, see there */
  sibling(): Promise<IntegrationServer>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** The shared test server (support/test-server.ts) without the static challenge, on a movable clock. */
export async function startIntegrationServer(env: Record<string, string> = {}, dir?: string, opts: { logger?: Logger } = {}): Promise<IntegrationServer> {
  const clock = new TestClock();
  const server = await startTestServer({ SCEPTER_STATIC_CHALLENGE: '', ...env }, dir, { clock, logger: opts.logger });
  return {
    app: server.app,
    url: server.url,
    dir: server.dir,
    env: server.env,
    clock,
    scepClient: (id) => new ScepClient(`${server.url}/scep/${id}`),
    sibling: () => startIntegrationServer(env, server.dir),
    stop: () => server.stop(),
    // a sibling (given `dir`) leaves the files of the server it shares them with
    destroy: async () => {
      await server.stop();
      if (!dir) fs.rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

export interface ServerProcess {
  url: string;
  scepClient(integrationId: string): ScepClient;
  stop(): Promise<void>;
}

/**
 * A second server as its own process (`node dist/src/server.js`) on the same database and CA: what
 * two instances sharing one SQLite file really are. (Two instances inside one process would share
 * libuv's thread pool, where SQLite's lock waits block the threads the other instance needs.)
 */
export async function spawnServerProcess(server: IntegrationServer): Promise<ServerProcess> {
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, ...server.env, SCEPTER_HTTP_PORT: String(port), SCEPTER_PUBLIC_URL: url };
  const daemon = spawnDaemon('node', [path.resolve(__dirname, '..', '..', 'src', 'server.js')], { env });
  await waitFor(() => !daemon.isRunning() || /listening on/.test(daemon.output()), 20_000, 'the second server process');
  if (!daemon.isRunning()) throw new Error(`second server did not start: ${daemon.output()}`);
  return { url, scepClient: (id) => new ScepClient(`${url}/scep/${id}`), stop: () => daemon.stop() };
}

export async function createIosCerts(
  server: IntegrationServer,
  name = 'iOS certificates',
): Promise<IntegrationView & { challengeUsername: string; challengePassword: string }> {
  const v = await server.app.services.integrations.create({ type: 'ios-certs', name, allowLegacy: true }, TEST_ACTOR);
  return v as IntegrationView & { challengeUsername: string; challengePassword: string };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** GET with node:http so the test can pick the source address (127.0.0.2 is loopback too). */
/** A GET from `localAddress`; a header given as an array is sent as that many header lines. */
export function httpGet(url: string, headers: Record<string, string | string[]> = {}, localAddress?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export function basic(username: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

export function getChallengePage(
  server: IntegrationServer,
  username: string,
  password: string,
  opts: { path?: string; json?: boolean; localAddress?: string } = {},
): Promise<RawResponse> {
  const headers = { ...basic(username, password), ...(opts.json ? { Accept: 'application/json' } : {}) };
  return httpGet(`${server.url}${opts.path ?? '/certsrv/mscep_admin/'}`, headers, opts.localAddress);
}

/** Decodes an NDES page: UTF-16LE after a byte-order mark. */
export function decodeNdesPage(body: Buffer): string {
  if (body[0] !== 0xff || body[1] !== 0xfe) throw new Error('no UTF-16LE byte-order mark');
  return body.subarray(2).toString('utf16le');
}

/** The regex NDES clients use on the page. */
export function parseNdesChallenge(body: Buffer): string {
  const m = /The enrollment challenge password is: <B> ([0-9A-Fa-f]+) <\/B>/.exec(decodeNdesPage(body));
  if (!m) throw new Error('no challenge on the page');
  return m[1]!;
}

/** A fresh challenge through the challenge URL (HTML page, as WS1 fetches it). */
export async function fetchChallenge(server: IntegrationServer, integ: { challengeUsername: string; challengePassword: string }): Promise<string> {
  const res = await getChallengePage(server, integ.challengeUsername, integ.challengePassword);
  if (res.status !== 200) throw new Error(`challenge URL: HTTP ${res.status} ${res.body.toString()}`);
  return parseNdesChallenge(res.body);
}
