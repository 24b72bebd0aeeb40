import path from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import type { RsaJob, RsaOperation, RsaResult } from './rsa-worker';
import type { HashName } from './sign';
import { ConfigError } from '../shared/errors';

/** The RSA private-key operations SCEP needs, off the event loop. */
export interface RsaPrivateOps {
  /** raw (RSA_NO_PADDING) private decryption */
  decrypt(key: KeyObject, data: Uint8Array): Promise<Buffer>;
  sign(hash: HashName, data: Uint8Array, key: KeyObject): Promise<Buffer>;
  /** signs a TBSCertificate (sha256WithRSAEncryption), assembles it and reads it back (readsBack) */
  certificate(tbs: Uint8Array, key: KeyObject): Promise<{ der: Buffer; readable: boolean }>;
  close(): Promise<void>;
}

type Pending = { resolve(r: { out: Buffer; readable?: boolean }): void; reject(e: Error): void };

/**
 * A few worker threads for the RSA private-key operations of every SCEP enrollment: the CMS key
 * transport decryption, the certificate signature (with its read-back) and the CertRep signature.
 *
 * Why: Node has no asynchronous raw RSA decryption, and PKCS#1 v1.5 decryption must be done raw here
 * (see RsaKeyTransport); done inline it would cost the event loop, the one thread that also runs
 * HTTP, parsing and the database. Signatures could go to libuv's thread pool instead, but that pool
 * also runs every SQLite statement, which would then queue behind them; and the read-back of each
 * new certificate (OpenSSL's X509 parser: ~0.2 ms) leaves the event loop with its signature.
 *
 * SCEPTER_RSA_THREADS sets the number of threads (0 = everything inline, signatures in libuv's
 * pool); the default is one per core, at most 4. Threads start on first use (the CLI never starts
 * them) and keep the process alive only while they have work.
 */
export class RsaWorkerPool implements RsaPrivateOps {
  private workers: { worker: Worker; pending: Map<number, Pending>; keys: Set<number> }[] = [];
  private readonly keyIds = new WeakMap<KeyObject, number>();
  private nextId = 1;
  private nextKeyId = 1;
  private turn = 0;
  private closed = false;

  constructor(readonly size: number) {}

  /** undefined when SCEPTER_RSA_THREADS is 0 */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): RsaWorkerPool | undefined {
    const raw = env.SCEPTER_RSA_THREADS;
    const size = raw === undefined || raw === '' ? Math.min(4, availableParallelism()) : Number(raw);
    if (!Number.isInteger(size) || size < 0 || size > 64)
      throw new ConfigError('SCEPTER_RSA_THREADS', `must be an integer from 0 to 64 (got ${JSON.stringify(raw)})`);
    return size > 0 ? new RsaWorkerPool(size) : undefined;
  }

  async decrypt(key: KeyObject, data: Uint8Array): Promise<Buffer> {
    return (await this.run(key, { op: 'decrypt', data: copy(data) })).out;
  }

  async sign(hash: HashName, data: Uint8Array, key: KeyObject): Promise<Buffer> {
    return (await this.run(key, { op: 'sign', hash, data: copy(data) })).out;
  }

  async certificate(tbs: Uint8Array, key: KeyObject): Promise<{ der: Buffer; readable: boolean }> {
    const r = await this.run(key, { op: 'certificate', tbs: copy(tbs) });
    return { der: r.out, readable: r.readable === true };
  }

  /** `operation`'s data is this call's own copy: it is transferred, not cloned. */
  private run(key: KeyObject, operation: RsaOperation): Promise<{ out: Buffer; readable?: boolean }> {
    if (this.closed) return Promise.reject(new Error('RSA worker pool is closed'));
    if (this.workers.length === 0) this.start();
    const w = this.workers[this.turn++ % this.workers.length]!;
    let keyId = this.keyIds.get(key);
    if (keyId === undefined) this.keyIds.set(key, (keyId = this.nextKeyId++));
    const job: RsaJob = { ...operation, id: this.nextId++, keyId };
    if (!w.keys.has(keyId)) {
      job.key = key; // sent once per worker
      w.keys.add(keyId);
    }
    const data = operation.op === 'certificate' ? operation.tbs : operation.data;
    return new Promise((resolve, reject) => {
      if (w.pending.size === 0) w.worker.ref(); // referenced only while it has work
      w.pending.set(job.id, { resolve, reject });
      w.worker.postMessage(job, [data.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private start(): void {
    const file = path.join(__dirname, 'rsa-worker.js');
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(file);
      const entry = { worker, pending: new Map<number, Pending>(), keys: new Set<number>() };
      worker.on('message', (r: RsaResult) => {
        const p = entry.pending.get(r.id);
        entry.pending.delete(r.id);
        if (entry.pending.size === 0) worker.unref();
        if (r.ok) p?.resolve({ out: Buffer.from(r.out.buffer, r.out.byteOffset, r.out.byteLength), readable: r.readable });
        else p?.reject(new Error(r.message));
      });
      const fail = (err: Error) => {
        // a dead worker fails its jobs and leaves the rotation; the next call starts a fresh set if none is left
        for (const p of entry.pending.values()) p.reject(err);
        entry.pending.clear();
        this.workers = this.workers.filter((w) => w !== entry);
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`RSA worker exited with code ${code}`)));
      worker.unref(); // idle workers never keep the process alive (after the listeners: adding one refs the port)
      this.workers.push(entry);
    }
  }
}

/** A view would clone its whole backing buffer (the request body, or Buffer's 8 KiB pool): copy the bytes. */
function copy(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}
