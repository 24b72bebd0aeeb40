import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDevice, parseSearchEnvelope, formatWs1Date } from './ws1-envelope-mapper';
import {
  Ws1AuthenticationError,
  Ws1Error,
  Ws1ErrorDetails,
  Ws1NetworkError,
  Ws1PermissionError,
  Ws1ProtocolError,
  Ws1RateLimitError,
  Ws1ServerError,
  Ws1TenantCodeError,
  Ws1TimeoutError,
} from './ws1.errors';
import { DEFAULT_TIMEOUT_MS, loadCa, normalizeBaseUrl, Ws1ClientSettings } from './ws1-settings';
import { Ws1RawResponse, Ws1Transport } from './ws1-transport';
import { WS1_MAX_PAGE_SIZE, type Ws1Device, type Ws1DevicePage } from './ws1.types';

export type { Ws1ClientSettings } from './ws1-settings';

/** Retry and pacing policy; the defaults suit a nightly sync. */
export interface Ws1ClientOptions {
  /** Attempts per call for 5xx, network errors and timeouts (1 = no retry). Default 4. */
  maxAttempts?: number;
  /** Backoff: attempt n waits between d/2 and d, d = min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Whether a timed-out call is retried (a Test Configuration wants the answer now). Default true. */
  retryTimeouts?: boolean;
  /** Longest single wait for the quota to reset; beyond it the call fails with Ws1RateLimitError. Default 15 min. */
  maxRateLimitWaitMs?: number;
  /** Page size for searchDevices (capped at 500). */
  pageSize?: number;
  /** Told about every retry and quota wait (for logs; never carries credentials). */
  onEvent?: (event: Ws1ClientEvent) => void;
  random?: () => number;
}

export type Ws1ClientEvent = { type: 'retry'; attempt: number; delayMs: number; reason: string } | { type: 'rate-limit-wait'; delayMs: number };

export type Ws1SearchBy = 'Udid' | 'Serialnumber' | 'Macaddress' | 'ImeiNumber' | 'DeviceId';

const MAX_PAGES = 20_000; // 10 M devices, whatever the first Total claims
const MAX_RATE_LIMIT_WAITS = 20;
// Bodies are parsed in memory, so each call may only receive what it can legitimately return: a
// WS1 search record is 1 to 3 KB, a device page is at most the page size asked for, the other
// answers (system info, one device, error bodies) are a few KB.
const DEVICE_PAGE_BYTES_PER_DEVICE = 8 * 1024;
const DEVICE_PAGE_ENVELOPE_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;

/** Most bytes a device page of `maxDevices` may take (4 MB for 500). */
export function devicePageByteLimit(maxDevices: number): number {
  return DEVICE_PAGE_ENVELOPE_BYTES + maxDevices * DEVICE_PAGE_BYTES_PER_DEVICE;
}

/**
 * Pages a walk may take: what the first page's Total needs, plus 10% and 2 pages for devices
 * enrolled during the walk. A server that keeps announcing more is refused before it fills the disk.
 */
export function pageBudget(firstTotal: number, pageSize: number): number {
  return Math.min(MAX_PAGES, Math.ceil((Math.max(0, firstTotal) * 1.1) / pageSize) + 2);
}

export class Ws1Client {
  readonly baseUrl: URL;
  readonly timeoutMs: number;
  private readonly transport: Ws1Transport;
  // Kept private (#) so that neither util.inspect nor JSON.stringify of a client shows them.
  readonly #headers: OutgoingHttpHeaders;
  readonly #opts: Required<Omit<Ws1ClientOptions, 'onEvent'>> & Pick<Ws1ClientOptions, 'onEvent'>;
  #quotaRemaining?: number;
  #quotaResetAt?: number;

  constructor(settings: Ws1ClientSettings, options: Ws1ClientOptions = {}) {
    this.baseUrl = normalizeBaseUrl(settings.baseUrl);
    this.timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.transport = new Ws1Transport(this.baseUrl, { ca: loadCa(settings), timeoutMs: this.timeoutMs });
    this.#headers = {
      authorization: `Basic ${Buffer.from(`${settings.username}:${settings.password}`, 'utf8').toString('base64')}`,
      'aw-tenant-code': settings.apiKey,
      accept: `application/json;version=${settings.apiVersion ?? 2}`,
      'user-agent': 'scepter-ws1-sync',
    };
    this.#opts = {
      maxAttempts: Math.max(1, options.maxAttempts ?? 4),
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 15_000,
      retryTimeouts: options.retryTimeouts ?? true,
      maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 15 * 60_000,
      pageSize: Math.min(WS1_MAX_PAGE_SIZE, Math.max(1, options.pageSize ?? WS1_MAX_PAGE_SIZE)),
      random: options.random ?? Math.random,
      onEvent: options.onEvent,
    };
  }

  /** `GET /API/system/info`. Checks the credentials but, as in WS1, not the API key. */
  async getSystemInfo(): Promise<Record<string, unknown>> {
    const res = await this.call('/API/system/info', MAX_BODY_BYTES);
    if (res.status !== 200) throw errorFor(res);
    return parseJson(res) as Record<string, unknown>;
  }

  /**
   * One page of `GET /API/mdm/devices/search`. WS1 answers 204 when there are no (more) devices: an
   * empty page with total 0. A 200 must carry a device list of at most `pageSize` objects; an empty
   * or malformed 200 is a protocol error, never "no devices", as it would empty the inventory.
   */
  async searchPage(platform: string, page: number, pageSize: number, seenSince?: Date): Promise<Ws1DevicePage> {
    const q = new URLSearchParams({ platform, page: String(page), pagesize: String(pageSize) });
    if (seenSince) q.set('seensince', formatWs1Date(seenSince));
    const maxDevices = Math.min(WS1_MAX_PAGE_SIZE, Math.max(1, pageSize)); // WS1 caps larger page sizes
    const res = await this.call(`/API/mdm/devices/search?${q}`, devicePageByteLimit(maxDevices));
    if (res.status === 204) return { page, pageSize, total: 0, devices: [] };
    if (res.status !== 200) throw errorFor(res);
    if (res.body.length === 0) {
      throw new Ws1ProtocolError('Workspace ONE answered a device search with HTTP 200 and no body (it answers 204 when there are no devices)', {
        upstreamStatus: 200,
      });
    }
    return parseSearchEnvelope(parseJson(res), maxDevices);
  }

  /** All devices of a platform, page by page (0-based) until `Total` is reached, within `pageBudget`. */
  async *searchDevices(platform: string, opts: { seenSince?: Date; pageSize?: number } = {}): AsyncGenerator<Ws1DevicePage> {
    const pageSize = Math.min(WS1_MAX_PAGE_SIZE, Math.max(1, opts.pageSize ?? this.#opts.pageSize));
    let fetched = 0;
    let firstTotal = 0;
    let budget = MAX_PAGES;
    for (let page = 0; ; page++) {
      const p = await this.searchPage(platform, page, pageSize, opts.seenSince);
      if (p.devices.length === 0) return;
      if (page === 0) {
        firstTotal = p.total;
        budget = pageBudget(firstTotal, pageSize);
      }
      yield p;
      fetched += p.devices.length;
      // A short page also ends the walk: devices removed mid-walk can leave Total unreachable.
      if (fetched >= p.total || p.devices.length < Math.min(pageSize, p.pageSize)) return;
      if (page + 1 >= budget) {
        throw new Ws1ProtocolError(
          `device search did not end: Workspace ONE first reported ${firstTotal} devices, but after ${budget} pages of ${pageSize} it still reports ${p.total}`,
        );
      }
    }
  }

  /** `GET /API/mdm/devices?searchby=&id=`; undefined when WS1 answers 404 (errorCode 5061). */
  async findDevice(searchBy: Ws1SearchBy, id: string): Promise<Ws1Device | undefined> {
    const q = new URLSearchParams({ searchby: searchBy, id });
    const res = await this.call(`/API/mdm/devices?${q}`, MAX_BODY_BYTES);
    if (res.status === 404 && errorBody(res).errorCode === 5061) return undefined;
    if (res.status !== 200) throw errorFor(res);
    return parseDevice(parseJson(res));
  }

  close(): void {
    this.transport.close();
  }

  /** One logical call: quota pacing, bounded retries with backoff, 429 waits. Returns any non-5xx/429 answer. */
  private async call(pathAndQuery: string, maxBodyBytes: number): Promise<Ws1RawResponse> {
    let attempt = 0;
    let rateWaits = 0;
    for (;;) {
      await this.waitForQuota();
      attempt++;
      let res: Ws1RawResponse;
      try {
        res = await this.transport.get(pathAndQuery, this.#headers, maxBodyBytes);
      } catch (err) {
        const e = err as Ws1Error;
        const retryable = (e instanceof Ws1NetworkError && e.retryable) || (e instanceof Ws1TimeoutError && this.#opts.retryTimeouts);
        if (!retryable || attempt >= this.#opts.maxAttempts) throw e;
        await this.backoff(attempt, e.code);
        continue;
      }
      this.noteQuota(res.headers);
      if (res.status === 429) {
        const waitMs = retryAfterMs(res.headers) ?? this.quotaWaitMs() ?? 60_000;
        if (waitMs > this.#opts.maxRateLimitWaitMs || ++rateWaits > MAX_RATE_LIMIT_WAITS) {
          throw new Ws1RateLimitError(waitMs, details(res));
        }
        attempt--; // waiting out the quota is not a failed attempt
        await this.pause(waitMs);
        continue;
      }
      if (res.status >= 500) {
        if (attempt >= this.#opts.maxAttempts) throw new Ws1ServerError(details(res));
        await this.backoff(attempt, `HTTP ${res.status}`);
        continue;
      }
      return res;
    }
  }

  private async backoff(attempt: number, reason: string): Promise<void> {
    const ceiling = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** (attempt - 1));
    const delayMs = Math.round(ceiling / 2 + this.#opts.random() * (ceiling / 2));
    this.#opts.onEvent?.({ type: 'retry', attempt, delayMs, reason });
    await sleep(delayMs);
  }

  /** When the last answer said the quota is spent, wait for its reset instead of collecting 429s. */
  private async waitForQuota(): Promise<void> {
    if (this.#quotaRemaining !== 0) return;
    const waitMs = this.quotaWaitMs() ?? 0;
    if (waitMs > this.#opts.maxRateLimitWaitMs) throw new Ws1RateLimitError(waitMs); // still spent for the next caller
    this.#quotaRemaining = undefined;
    if (waitMs > 0) await this.pause(waitMs);
  }

  private async pause(waitMs: number): Promise<void> {
    this.#opts.onEvent?.({ type: 'rate-limit-wait', delayMs: waitMs });
    await sleep(waitMs);
  }

  private quotaWaitMs(): number | undefined {
    return this.#quotaResetAt === undefined ? undefined : Math.max(0, this.#quotaResetAt - Date.now());
  }

  private noteQuota(headers: IncomingHttpHeaders): void {
    const remaining = Number(headers['x-ratelimit-remaining']);
    if (headers['x-ratelimit-remaining'] !== undefined && Number.isFinite(remaining)) this.#quotaRemaining = remaining;
    const reset = parseReset(headers['x-ratelimit-reset']);
    if (reset !== undefined) this.#quotaResetAt = reset;
  }
}

/** `x-ratelimit-reset`: WS1 sends the reset time in Unix seconds; small values are read as seconds from now. */
function parseReset(value: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value);
  if (value === undefined || !Number.isFinite(n) || n < 0) return undefined;
  if (n > 1e12) return n; // milliseconds epoch
  if (n > 1e9) return n * 1000;
  return Date.now() + n * 1000;
}

function retryAfterMs(headers: IncomingHttpHeaders): number | undefined {
  const v = headers['retry-after'];
  if (v === undefined) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function parseJson(res: Ws1RawResponse): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch (err) {
    throw new Ws1ProtocolError(`Workspace ONE answered HTTP ${res.status} with a body that is not JSON`, { upstreamStatus: res.status, cause: err });
  }
}

function errorBody(res: Ws1RawResponse): { errorCode?: number; activityId?: string } {
  try {
    const o = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    return {
      errorCode: typeof o.errorCode === 'number' ? o.errorCode : undefined,
      activityId: typeof o.activityId === 'string' ? o.activityId : undefined,
    };
  } catch {
    return {};
  }
}

function details(res: Ws1RawResponse): Ws1ErrorDetails {
  return { upstreamStatus: res.status, ...errorBody(res) };
}

/** The one mapping from a WS1 error answer to our errors. */
export function errorFor(res: Ws1RawResponse): Ws1Error {
  const d = details(res);
  if (res.status === 401) return new Ws1AuthenticationError(d);
  if (res.status === 403) return d.errorCode === 1013 ? new Ws1TenantCodeError(d) : new Ws1PermissionError(d);
  if (res.status >= 500) return new Ws1ServerError(d);
  return new Ws1ProtocolError(`Workspace ONE answered HTTP ${res.status}${d.errorCode ? ` (error ${d.errorCode})` : ''}`, d);
}
