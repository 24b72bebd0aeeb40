import { BadRequestError } from '../shared/errors';

/** A scalar of a sort key: ids, device ids, ISO timestamps. */
export type KeyPart = string | number;

/**
 * Opaque keyset cursors: the sort order's name and the last row's sort key, base64url JSON. The
 * next page starts strictly after that key, so it costs the same however deep it is (no OFFSET).
 * A cursor only fits the order it was made for: the filters choose the order, so a cursor taken
 * with other filters is refused rather than silently skipping rows.
 */
export function encodeCursor(order: string, key: KeyPart[]): string {
  return Buffer.from(JSON.stringify({ o: order, k: key }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, order: string, shape: ('string' | 'number')[]): KeyPart[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const bad = cursorError;
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const c = v as { o?: unknown; k?: unknown };
  if (!c || typeof c !== 'object' || c.o !== order || !Array.isArray(c.k) || c.k.length !== shape.length) throw bad();
  c.k.forEach((part, i) => {
    if (typeof part !== shape[i] || (typeof part === 'number' && !Number.isSafeInteger(part))) throw bad();
  });
  return c.k as KeyPart[];
}

/** The one answer to a cursor that does not fit (also for a key that decodes but makes no sense). */
export function cursorError(): BadRequestError {
  return new BadRequestError('cursor is not a cursor of this list (take nextCursor of the previous page, with the same filters)');
}
