import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { CSV_COLUMNS, ITEM_JSON } from './list.presenter';
import type { ListKind } from './list.service';

/** Cells a spreadsheet would run as a formula get a leading apostrophe: device ids and subjects come from devices. */
const cast = { string: (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s) };

/**
 * A CSV export as a stream: a header, then every row of `pages`, read page by page as the reader
 * takes them (backpressure), so memory stays flat however long the list. Each page becomes one
 * chunk: a write per row costs more than the rows themselves.
 */
export function csvExport(kind: ListKind, pages: AsyncIterable<unknown[]>, onError: (err: unknown) => void): Readable {
  const columns = [...CSV_COLUMNS[kind]];
  const toJson = ITEM_JSON[kind] as (i: unknown) => Record<string, unknown>;
  // rows as arrays in column order: csv-stringify's lookup of object keys costs more than the quoting
  const row = (item: unknown) => {
    const j = toJson(item);
    return columns.map((c) => j[c]);
  };
  async function* chunks() {
    yield `${columns.join(',')}\n`;
    for await (const page of pages) if (page.length) yield stringify(page.map(row), { cast });
  }
  const out = Readable.from(chunks(), { objectMode: false });
  out.on('error', onError);
  return out;
}
