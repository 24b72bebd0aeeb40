import type { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { CSV_COLUMNS, ITEM_JSON } from './list.presenter';
import type { ListKind } from './list.service';

/**
 * A CSV export as a stream: a header, then every row of `pages`, read page by page as the reader
 * takes them (backpressure), so memory stays flat however long the list. Cells a spreadsheet
 * would run as a formula (=, +, -, @, tab, CR first) get a leading apostrophe: device ids and
 * subjects come from devices.
 */
export function csvExport(kind: ListKind, pages: AsyncIterable<unknown[]>, onError: (err: unknown) => void): Readable {
  const columns = CSV_COLUMNS[kind] as readonly string[];
  const out = stringify({ header: true, columns: [...columns], cast: { string: (s) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s) } });
  (async () => {
    for await (const page of pages) {
      for (const item of page) {
        if (out.destroyed) return;
        if (!out.write(ITEM_JSON[kind](item))) await drained(out);
      }
    }
    out.end();
  })().catch((err) => {
    onError(err);
    out.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return out;
}

/** Resolves when the reader caught up, or when the stream closed (a client that went away). */
function drained(out: Readable & { write(chunk: unknown): boolean }): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
