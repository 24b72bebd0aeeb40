import { expect } from 'chai';

/** The only element of `xs`; fails the test when there are none or several. */
export function single<T>(xs: readonly T[], what = 'items'): T {
  expect(xs, what).to.have.length(1);
  return xs[0] as T;
}

/** `xs[i]`; fails the test when the list is shorter. */
export function item<T>(xs: readonly T[], i: number, what = 'items'): T {
  expect(xs.length, `${what}: index ${i} of ${xs.length}`).to.be.greaterThan(i);
  return xs[i] as T;
}

/** Sort comparator in UTF-16 code unit order, the order `Array.prototype.sort()` uses without one. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
