import { KeyObject } from 'node:crypto';
import { newRsaKey } from '../../src/scep/client/scep-client';

const pool: KeyObject[] = [];

/** `N` keys as a tuple when `N` is a literal, so `keys[3]` is a key and not `KeyObject | undefined`. */
export type Keys<N extends number, Acc extends KeyObject[] = []> = number extends N
  ? KeyObject[]
  : Acc['length'] extends N
    ? Acc
    : Keys<N, [...Acc, KeyObject]>;

/** 2048-bit keys are slow to make; tests that do not care which key share a small pool. */
export async function pooledKeys<N extends number>(n: N): Promise<Keys<N>> {
  while (pool.length < n) pool.push(...(await Promise.all(Array.from({ length: Math.min(8, n - pool.length) }, () => newRsaKey()))));
  return pool.slice(0, n) as Keys<N>;
}
