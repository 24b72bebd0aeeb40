import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Permission } from '../../admin/roles';
import { csvExport } from '../../lists/list-csv';
import { ITEM_JSON } from '../../lists/list.presenter';
import type { ListKind, ListService, RawListParams } from '../../lists/list.service';
import { BadRequestError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { allow } from './admin-auth';
import { queryParams } from './query-params';

/** Listing is reading integrations' data: the least role that may read an integration may list. */
export const LIST_PERMISSION: Permission = 'integrations:read';

const PARAMS: Record<ListKind, string[]> = {
  certificates: ['integration', 'status', 'device', 'expiringBefore', 'limit', 'cursor', 'after'],
  devices: ['integration', 'device', 'trust', 'limit', 'cursor'],
  inventory: ['integration', 'platform', 'enrollmentStatus', 'device', 'limit', 'cursor'],
};

/**
 * Lists under `/admin/v1` (on the authenticated admin router), keyset-paged:
 *   GET /certificates?integration=&status=valid|revoked|expired|superseded&device=<prefix>&expiringBefore=&limit=&cursor=
 *   GET /devices?integration=&device=<prefix>&trust=trusted|revoked|expired&limit=&cursor=
 *   GET /inventory?integration=&platform=&enrollmentStatus=&device=<udid prefix>&limit=&cursor=
 * Each answers `{<kind>: [...], nextCursor}`; `format=csv` streams every page from the cursor on
 * as CSV instead. An unknown parameter is refused, so a misspelt filter never lists everything.
 */
export function registerListRoutes(r: Router, d: { lists: ListService; logger: Logger }): Router {
  for (const kind of ['certificates', 'devices', 'inventory'] as const) {
    r.get(`/${kind}`, allow(LIST_PERMISSION), async (ctx) => {
      const raw = params(ctx, kind);
      if (format(ctx) === 'csv') {
        const pages = await d.lists.pages(kind, raw);
        ctx.type = 'text/csv; charset=utf-8';
        ctx.set('Content-Disposition', `attachment; filename="${kind}.csv"`);
        ctx.body = csvExport(kind, pages, (err) => d.logger.error({ err, kind }, 'CSV export failed midway'));
        return;
      }
      const page = await d.lists[kind](raw);
      const toJson: (i: unknown) => unknown = ITEM_JSON[kind];
      const body: Record<string, unknown> = { [kind]: (page.items as unknown[]).map((i) => toJson(i)), nextCursor: page.nextCursor };
      // certificates in id order also answer `next` (the last id), which `after` takes
      if (kind === 'certificates')
        body.next = 'order' in page && page.order === 'id' && page.nextCursor ? (page.items[page.items.length - 1] as { id: number }).id : null;
      ctx.body = body;
    });
  }
  return r;
}

function format(ctx: Context): 'json' | 'csv' {
  const f = ctx.query.format;
  if (f === undefined || f === 'json') return 'json';
  if (f === 'csv') return 'csv';
  throw new BadRequestError('format must be json or csv');
}

function params(ctx: Context, kind: ListKind): RawListParams {
  const raw = queryParams(ctx, [...PARAMS[kind], 'format']);
  delete raw.format; // read by format()
  return raw;
}
