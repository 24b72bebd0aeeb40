import { BadRequestError } from './errors';

/*
 * Paging parameters as they arrive from a query string, a CLI option or a console link. Every list
 * (certificates, devices, inventory, the audit and authentication logs) reads them here, so a bad
 * value is refused with the same words everywhere instead of quietly answering another page.
 */

/** `limit`: absent is `fallback`; otherwise a whole number from 1 to `max`. */
export function pageLimit(v: string | undefined, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = wholeNumber(v, 'limit');
  if (n < 1 || n > max) throw new BadRequestError(`limit must be from 1 to ${max}`);
  return n;
}

/** A whole number such as an id to page from: digits only, at most 15 of them (exact as a JavaScript number). */
export function wholeNumber(v: string, what: string): number {
  if (!/^\d{1,15}$/.test(v)) throw new BadRequestError(`${what} must be a whole number of at most 15 digits`);
  return Number(v);
}
