/**
 * Worker-thread side of RsaWorkerPool: the RSA private-key operations of SCEP. Keys arrive once
 * each (a KeyObject clones cheaply into a worker) and are kept by id.
 *  - decrypt: raw (RSA_NO_PADDING); the padding is removed by the caller, on the main thread, with
 *    implicit rejection (RsaKeyTransport);
 *  - sign: a signature (CMS SignedData: the CertRep);
 *  - certificate: signs a TBSCertificate, assembles the certificate and reads it back with OpenSSL
 *    against the key's public half (readsBack), so the read-back leaves the event loop as well.
 */
import { constants, createPublicKey, privateDecrypt, sign, KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { assembleCertificate } from './certificate-builder';
import { readsBack } from './read-back';
import type { HashName } from './sign';

export type RsaOperation = { op: 'decrypt'; data: Uint8Array } | { op: 'sign'; hash: HashName; data: Uint8Array } | { op: 'certificate'; tbs: Uint8Array };
export type RsaJob = RsaOperation & { id: number; keyId: number; key?: KeyObject };
export type RsaResult = { id: number; ok: true; out: Uint8Array; readable?: boolean } | { id: number; ok: false; message: string };

const keys = new Map<number, { key: KeyObject; publicKey?: KeyObject }>();

function run(job: RsaJob, key: { key: KeyObject; publicKey?: KeyObject }): { out: Buffer; readable?: boolean } {
  switch (job.op) {
    case 'decrypt':
      return { out: privateDecrypt({ key: key.key, padding: constants.RSA_NO_PADDING }, job.data) };
    case 'sign':
      return { out: sign(job.hash, job.data, key.key) };
    case 'certificate': {
      const der = assembleCertificate(job.tbs, sign('sha256', job.tbs, key.key));
      key.publicKey ??= createPublicKey(key.key);
      return { out: der, readable: readsBack(der, key.publicKey) };
    }
  }
}

parentPort?.on('message', (job: RsaJob) => {
  try {
    if (job.key) keys.set(job.keyId, { key: job.key });
    const key = keys.get(job.keyId);
    if (!key) throw new Error('unknown key');
    const { out, readable } = run(job, key);
    const own = new Uint8Array(out); // own buffer, transferred rather than cloned
    parentPort!.postMessage({ id: job.id, ok: true, out: own, readable } satisfies RsaResult, [own.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) } satisfies RsaResult);
  }
});
