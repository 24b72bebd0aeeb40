/**
 * Worker-thread side of RsaWorkerPool: raw (RSA_NO_PADDING) private decryptions. Keys arrive once
 * each (a KeyObject clones cheaply into a worker) and are kept by id; the padding is removed by the
 * caller, on the main thread, with implicit rejection.
 */
import { constants, privateDecrypt, KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export interface RsaJob {
  id: number;
  keyId: number;
  key?: KeyObject;
  data: Uint8Array;
}
export type RsaResult = { id: number; ok: true; em: Uint8Array } | { id: number; ok: false; message: string };

const keys = new Map<number, KeyObject>();

parentPort?.on('message', (job: RsaJob) => {
  try {
    if (job.key) keys.set(job.keyId, job.key);
    const key = keys.get(job.keyId);
    if (!key) throw new Error('unknown key');
    const em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, job.data);
    const out = new Uint8Array(em); // own buffer, transferred rather than cloned
    parentPort!.postMessage({ id: job.id, ok: true, em: out } satisfies RsaResult, [out.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) } satisfies RsaResult);
  }
});
