import type { ListRepository } from '../db/list.repository';
import type { Clock } from '../shared/clock';
import { BadRequestError } from '../shared/errors';
import { pageLimit, wholeNumber } from '../shared/paging';
import { hasUnprintable } from '../shared/printable-text';
import { cursorError, decodeCursor, encodeCursor, KeyPart } from './list-cursor';
import {
  CERTIFICATE_ORDERS,
  CERTIFICATE_STATUSES,
  CertificateFilter,
  CertificateListItem,
  CertificateListStatus,
  CertificateOrder,
  DEVICE_TRUST,
  DeviceFilter,
  DeviceListItem,
  DeviceTrust,
  InventoryFilter,
  InventoryListItem,
  Page,
  SORT_DIRECTIONS,
  SortDirection,
} from './list.types';

/** Filters and paging as they arrive: query-string values or CLI options, all strings. */
export type RawListParams = Record<string, string | undefined>;

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** rows per read while exporting everything */
const EXPORT_PAGE = 2000;

export type ListKind = 'certificates' | 'devices' | 'inventory';

/**
 * The certificate, device and WS1 inventory lists of the CLI and the admin API: one validation of
 * the filters (same errors in both), keyset pages, and the page-by-page walk a CSV export streams.
 */
export class ListService {
  constructor(
    private readonly repo: ListRepository,
    private readonly clock: Clock,
  ) {}

  async certificates(raw: RawListParams, pageSize?: number): Promise<Page<CertificateListItem> & { order: CertificateOrder; dir: SortDirection }> {
    const f: CertificateFilter = {
      integrationId: integration(raw.integration),
      status: oneOf(raw.status, CERTIFICATE_STATUSES, 'status') as CertificateListStatus | undefined,
      devicePrefix: text(raw.device, 'device', 256),
      expiringBefore: date(raw.expiringBefore, 'expiringBefore'),
    };
    // the order follows the most selective filter, so the page is an index range, not a scan
    const order: CertificateOrder =
      (oneOf(raw.sort, CERTIFICATE_ORDERS, 'sort') as CertificateOrder | undefined) ??
      (f.expiringBefore || f.status === 'expired' ? 'notAfter' : f.devicePrefix ? 'device' : 'id');
    const dir = direction(raw.dir);
    const name = cursorName(`certificates:${order}`, dir);
    const limit = pageSize ?? limitOf(raw.limit);
    let after = decodeCursor(raw.cursor, name, order === 'id' ? ['number'] : order === 'notAfter' ? ['string', 'number'] : ['string', 'number']);
    if (after && order === 'notAfter' && Number.isNaN(Date.parse(after[0] as string))) throw cursorError();
    if (raw.after !== undefined) {
      if (order !== 'id' || dir !== 'asc' || after)
        throw new BadRequestError('after (a certificate id) pages only lists in id order without a cursor; use cursor');
      after = [wholeNumber(raw.after, 'after')];
    }
    const items = await this.repo.certificates(f, order, dir, after, limit, this.clock.now());
    const last = items.length === limit ? items[items.length - 1] : undefined;
    const key: KeyPart[] | undefined = last && (order === 'id' ? [last.id] : order === 'notAfter' ? [last.notAfter, last.id] : [last.deviceId ?? '', last.id]);
    return { items, order, dir, nextCursor: key ? encodeCursor(name, key) : null };
  }

  async devices(raw: RawListParams, pageSize?: number): Promise<Page<DeviceListItem> & { dir: SortDirection }> {
    const f: DeviceFilter = {
      integrationId: integration(raw.integration),
      devicePrefix: text(raw.device, 'device', 256),
      trust: oneOf(raw.trust, DEVICE_TRUST, 'trust') as DeviceTrust | undefined,
    };
    const dir = direction(raw.dir);
    const order = cursorName(f.integrationId !== undefined ? 'devices:integration' : 'devices', dir);
    const limit = pageSize ?? limitOf(raw.limit);
    const after = decodeCursor(raw.cursor, order, ['string', 'string']);
    const items = await this.repo.devices(f, dir, after, limit, this.clock.now());
    const last = items.length === limit ? items[items.length - 1] : undefined;
    return { items, dir, nextCursor: last ? encodeCursor(order, [last.deviceId, last.integrationId]) : null };
  }

  async inventory(raw: RawListParams, pageSize?: number): Promise<Page<InventoryListItem> & { dir: SortDirection }> {
    const f: InventoryFilter = {
      integrationId: integration(raw.integration),
      platform: text(raw.platform, 'platform', 64),
      enrollmentStatus: text(raw.enrollmentStatus, 'enrollmentStatus', 64),
      devicePrefix: text(raw.device, 'device', 256),
    };
    const dir = direction(raw.dir);
    const order = cursorName('inventory', dir);
    const limit = pageSize ?? limitOf(raw.limit);
    const after = decodeCursor(raw.cursor, order, ['string', 'string']);
    const items = await this.repo.inventory(f, dir, after, limit);
    const last = items.length === limit ? items[items.length - 1] : undefined;
    return { items, dir, nextCursor: last ? encodeCursor(order, [last.integrationId, last.udidNorm]) : null };
  }

  /**
   * Every page from `raw.cursor` on (the limit is ignored), for exports. Filters are validated
   * before the first page is asked for, so a bad filter fails before anything is sent.
   */
  async pages(kind: ListKind, raw: RawListParams): Promise<AsyncIterable<(CertificateListItem | DeviceListItem | InventoryListItem)[]>> {
    const read = (cursor: string | undefined) => this[kind]({ ...raw, limit: undefined, cursor }, EXPORT_PAGE);
    const first = await read(raw.cursor);
    // the next page is read while the reader turns this one into CSV (the driver steps SQLite on its own thread)
    return (async function* () {
      let page: Page<CertificateListItem | DeviceListItem | InventoryListItem> = first;
      for (;;) {
        const next = page.nextCursor ? read(page.nextCursor) : undefined;
        next?.catch(() => undefined); // a reader that stops early leaves it unawaited
        if (page.items.length) yield page.items;
        if (!next) return;
        page = await next;
      }
    })();
  }
}

function direction(v: string | undefined): SortDirection {
  return (oneOf(v, SORT_DIRECTIONS, 'dir') as SortDirection | undefined) ?? 'asc';
}

/** The cursor's order name: a descending walk's cursor does not fit the ascending one (and back). */
function cursorName(order: string, dir: SortDirection): string {
  return dir === 'desc' ? `${order}:desc` : order;
}

function limitOf(v: string | undefined): number {
  return pageLimit(v, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);
}

function integration(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new BadRequestError('integration must be an integration id (letters, digits, - and _)');
  return v;
}

function oneOf(v: string | undefined, allowed: readonly string[], what: string): string | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v)) throw new BadRequestError(`${what} must be one of ${allowed.join(', ')}`);
  return v;
}

function text(v: string | undefined, what: string, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (v.length < 1 || v.length > max) throw new BadRequestError(`${what} must be 1 to ${max} characters`);
  if (hasUnprintable(v)) throw new BadRequestError(`${what} contains control or invisible formatting characters`);
  return v;
}

function date(v: string | undefined, what: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(v) || Number.isNaN(d.getTime()))
    throw new BadRequestError(`${what} must be a date (YYYY-MM-DD) or an ISO 8601 time`);
  return d;
}
