import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isWs1Platform, WS1_MAX_PAGE_SIZE } from '../../src/mdm/workspace-one/ws1.types';
import { parseWs1Date } from '../../src/mdm/workspace-one/ws1-envelope-mapper';
import { SimDeviceIndex, type SimSearchBy } from './ws1-sim-index';
import { generateInventory, loadInventoryFile, toWireV2, toWireV3, type SimDevice, type SimDeviceInput } from './ws1-sim-inventory';
import { QuotaWindow, SimFaults, type Ws1SimFault } from './ws1-sim-faults';

export type { Ws1SimFault } from './ws1-sim-faults';
export type { SimDevice, SimDeviceInput } from './ws1-sim-inventory';

export interface Ws1SimAccount {
  username: string;
  password: string;
  /** false: the account signs in but its role lacks REST API read access (403). */
  restRead?: boolean;
}

export interface Ws1SimulatorOptions {
  host?: string; // default 127.0.0.1
  port?: number; // default 0 (a free port)
  tenantCode?: string;
  username?: string;
  password?: string;
  /** More accounts, e.g. one with `restRead: false`. */
  accounts?: Ws1SimAccount[];
  /** Accepted bearer tokens (OAuth); with a token the aw-tenant-code header is optional, as in WS1. */
  bearerTokens?: string[];
  /** Generated fleet (ignored when `inventory` or `inventoryFile` is given). */
  devicesPerPlatform?: number | Partial<Record<string, number>>;
  seed?: number;
  unenrolledRatio?: number;
  inventory?: SimDeviceInput[];
  inventoryFile?: string;
  /** Requests allowed per window (default 50,000, WS1's usual daily API quota). */
  quota?: number;
  /** Quota window in seconds (default one day). */
  quotaWindowSeconds?: number;
  latencyMs?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface Ws1Simulator {
  url: string;
  port: number;
  credentials: { username: string; password: string; tenantCode: string };
  devices: SimDeviceIndex;
  /** Requests served since start, by path and status. */
  stats: { requests: number; searchRequests: number; byStatus: Map<number, number> };
  setFault(fault: Ws1SimFault | null): void;
  setLatency(ms: number): void;
  setQuota(limit: number, windowSeconds?: number): void;
  setInventory(devices: SimDeviceInput[]): void;
  addDevices(devices: SimDeviceInput[]): SimDevice[];
  removeDevices(udids: string[]): number;
  setEnrollmentStatus(udid: string, status: string): boolean;
  addAccount(account: Ws1SimAccount): void;
  close(): Promise<void>;
}

export const SIM_DEFAULTS = { username: 'api-admin', password: 'sim-password', tenantCode: 'SIMTENANTCODE0000000000000000000' };
const ERR = { badCredentials: 1005, badTenant: 1013, noPermission: 1001, notFound: 5061, badRequest: 1000, badVersion: 1008 };
const SEARCH_BY: Record<string, SimSearchBy> = {
  udid: 'udid',
  serialnumber: 'serialnumber',
  macaddress: 'macaddress',
  imeinumber: 'imeinumber',
  deviceid: 'deviceid',
};

/** A Workspace ONE UEM REST API subset on a local port, for tests, demos and benchmarks. */
export async function startWs1Simulator(options: Ws1SimulatorOptions = {}): Promise<Ws1Simulator> {
  const credentials = {
    username: options.username ?? SIM_DEFAULTS.username,
    password: options.password ?? SIM_DEFAULTS.password,
    tenantCode: options.tenantCode ?? SIM_DEFAULTS.tenantCode,
  };
  const accounts = new Map<string, Ws1SimAccount>();
  for (const a of [{ username: credentials.username, password: credentials.password, restRead: true }, ...(options.accounts ?? [])]) {
    accounts.set(a.username.toLowerCase(), a);
  }
  const tokens = new Set(options.bearerTokens ?? []);
  const initial =
    options.inventory ??
    (options.inventoryFile
      ? loadInventoryFile(options.inventoryFile)
      : generateInventory({ perPlatform: options.devicesPerPlatform ?? 0, seed: options.seed, unenrolledRatio: options.unenrolledRatio }));
  const devices = new SimDeviceIndex(initial);
  const faults = new SimFaults();
  const quota = new QuotaWindow(options.quota ?? 50_000, options.quotaWindowSeconds ?? 86_400);
  let latencyMs = options.latencyMs ?? 0;
  const stats = { requests: 0, searchRequests: 0, byStatus: new Map<number, number>() };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    stats.requests++;
    res.on('finish', () => stats.byStatus.set(res.statusCode, (stats.byStatus.get(res.statusCode) ?? 0) + 1));
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '').toLowerCase();
    if (path === '/api/mdm/devices/search') stats.searchRequests++;
    if (latencyMs > 0) await sleep(latencyMs);

    // Every answer carries the quota headers, as WS1's do; an exhausted quota answers 429 + Retry-After.
    const allowed = quota.take();
    for (const [k, v] of Object.entries(quota.headers())) res.setHeader(k, v);
    if (!allowed) {
      res.setHeader('retry-after', String(quota.secondsToReset()));
      return sendError(res, 429, 0, 'API rate limit exceeded');
    }

    const fault = faults.match(path, url.searchParams.get('page'));
    if (fault?.type === 'hang') return; // never answered; the socket is destroyed on close()
    if (fault?.type === 'reset') return void req.socket.destroy();
    if (fault?.type === 'status') return sendError(res, fault.status, 0, 'Injected fault');

    if (req.method !== 'GET') return sendError(res, 405, ERR.badRequest, 'Method not allowed');
    const account = authenticate(req);
    if (account === undefined) return sendError(res, 401, ERR.badCredentials, 'User credentials are invalid.');
    if (path === '/api/system/info') return sendJson(res, 200, systemInfo()); // no tenant check, as in WS1
    if (path !== '/api/mdm/devices/search' && path !== '/api/mdm/devices') return sendError(res, 404, ERR.badRequest, 'Resource not found');
    const tenant = req.headers['aw-tenant-code'];
    if (!(account === 'token' && tenant === undefined) && !safeEqual(String(tenant ?? ''), credentials.tenantCode)) {
      return sendError(res, 403, ERR.badTenant, 'Invalid tenant code.');
    }
    if (account !== 'token' && account.restRead === false) {
      return sendError(res, 403, ERR.noPermission, 'Access denied: the role does not grant REST API read access.');
    }
    const version = acceptVersion(req.headers.accept);
    if (version === undefined) return sendError(res, 406, ERR.badVersion, 'Unsupported API version');
    return path === '/api/mdm/devices/search' ? search(url, version, res) : lookup(url, version, res);
  };

  function authenticate(req: http.IncomingMessage): Ws1SimAccount | 'token' | undefined {
    const h = req.headers.authorization ?? '';
    const [scheme = '', value = ''] = h.split(' ', 2);
    if (scheme.toLowerCase() === 'bearer') return [...tokens].some((t) => safeEqual(t, value)) ? 'token' : undefined;
    if (scheme.toLowerCase() !== 'basic') return undefined;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const account = accounts.get(decoded.slice(0, colon).toLowerCase());
    return account && colon > 0 && safeEqual(decoded.slice(colon + 1), account.password) ? account : undefined;
  }

  function search(url: URL, version: 1 | 2 | 3, res: http.ServerResponse): void {
    const q = url.searchParams;
    const platform = q.get('platform') ?? undefined;
    if (platform !== undefined && !isWs1Platform(canonicalPlatform(platform))) return sendError(res, 400, ERR.badRequest, 'Invalid platform');
    const page = Number(q.get('page') ?? 0);
    const size = Math.min(WS1_MAX_PAGE_SIZE, Number(q.get('pagesize') ?? WS1_MAX_PAGE_SIZE));
    if (!Number.isInteger(page) || page < 0 || !Number.isInteger(size) || size < 1) return sendError(res, 400, ERR.badRequest, 'Invalid paging');
    const sinceText = q.get('seensince') ?? q.get('lastseen');
    const since = sinceText ? parseWs1Date(sinceText) : undefined;
    if (sinceText && !since) return sendError(res, 400, ERR.badRequest, 'Invalid date');
    const all = devices.search(platform, since);
    const slice = all.slice(page * size, page * size + size);
    if (slice.length === 0) {
      res.writeHead(204);
      return void res.end();
    }
    const body =
      version === 3
        ? { devices: slice.map(toWireV3), page, page_size: size, total: all.length }
        : { Devices: slice.map((d) => toWireV2(d, version)), Page: page, PageSize: size, Total: all.length };
    sendJson(res, 200, body);
  }

  function lookup(url: URL, version: 1 | 2 | 3, res: http.ServerResponse): void {
    const by = SEARCH_BY[(url.searchParams.get('searchby') ?? '').toLowerCase()];
    const id = url.searchParams.get('id');
    if (!by || !id) return sendError(res, 400, ERR.badRequest, 'searchby and id are required');
    const d = devices.find(by, id);
    if (!d) return sendError(res, 404, ERR.notFound, 'Device not found');
    sendJson(res, 200, version === 3 ? toWireV3(d) : toWireV2(d, version));
  }

  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }) : http.createServer();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, 0, 'Simulator error');
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${port}`,
    port,
    credentials,
    devices,
    stats,
    setFault: (f) => faults.set(f),
    setLatency: (ms) => {
      latencyMs = ms;
    },
    setQuota: (limit, windowSeconds) => quota.reconfigure(limit, windowSeconds),
    setInventory: (list) => {
      devices.clear();
      devices.add(list);
    },
    addDevices: (list) => devices.add(list),
    removeDevices: (udids) => devices.remove(udids),
    setEnrollmentStatus: (udid, status) => devices.update(udid, { enrollmentStatus: status }),
    addAccount: (a) => {
      accounts.set(a.username.toLowerCase(), a);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // includes requests parked by a 'hang' fault
      }),
  };
}

function canonicalPlatform(p: string): string {
  return ['Apple', 'AppleOsX', 'Android', 'WinRT'].find((x) => x.toLowerCase() === p.toLowerCase()) ?? p;
}

/** `Accept: application/json;version=N`; no version means 1, as in WS1. */
function acceptVersion(accept: string | undefined): 1 | 2 | 3 | undefined {
  const m = /version\s*=\s*(\d+)/i.exec(accept ?? '');
  const v = m ? Number(m[1]) : 1;
  return v === 1 || v === 2 || v === 3 ? v : undefined;
}

function systemInfo(): Record<string, unknown> {
  return { ProductName: 'Workspace ONE UEM (simulator)', ProductVersion: '24.6.0.0', EnvironmentType: 'Simulated' };
}

function safeEqual(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, errorCode: number, message: string): void {
  sendJson(res, status, { errorCode, message, activityId: randomUUID() });
}
