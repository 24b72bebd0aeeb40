import { KeyObject } from 'node:crypto';
import { newRsaKey } from '../../src/scep/client/scep-client';

const pool: KeyObject[] = [];

/** 2048-bit keys are slow to make; tests that do not care which key share a small pool. */
export async function pooledKeys(n: number): Promise<KeyObject[]> {
  while (pool.length < n) pool.push(...(await Promise.all(Array.from({ length: Math.min(8, n - pool.length) }, () => newRsaKey()))));
  return pool.slice(0, n);
}
