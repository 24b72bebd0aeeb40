import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import type { RsaJob, RsaResult } from './rsa-worker';

/**
 * A few worker threads for the RSA private decryption of every SCEP request (the CMS key transport).
 *
 * Why: RSA signatures already run in libuv's thread pool (the callback form of crypto.sign), but
 * Node has no asynchronous raw RSA decryption, and PKCS#1 v1.5 decryption must be done raw here (see
 * RsaKeyTransport). Done inline it costs ~0.3 ms of the event loop per enrollment, on the one thread
 * that also runs HTTP, parsing and the database; here it runs on another core.
 *
 * SCEPTER_RSA_THREADS sets the number of threads (0 = decrypt inline); the default is one fewer than
 * the cores, at most 4. Threads start on first use (the CLI never starts them) and keep the process
 * alive only while they have work.
 */
export class RsaWorkerPool {
  private workers: { worker: Worker; pending: Map<number, { resolve(b: Buffer): void; reject(e: Error): void }>; keys: Set<number> }[] = [];
  private readonly keyIds = new WeakMap<KeyObject, number>();
  private nextId = 1;
  private nextKeyId = 1;
  private turn = 0;
  private closed = false;

  constructor(readonly size: number) {}

  /** undefined for 0 threads (SCEPTER_RSA_THREADS=0: decrypt inline) */
  static ofSize(size: number): RsaWorkerPool | undefined {
    return size > 0 ? new RsaWorkerPool(size) : undefined;
  }

  /** Raw RSA private operation (RSA_NO_PADDING) with `key` on a worker thread. */
  decrypt(key: KeyObject, data: Uint8Array): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('RSA worker pool is closed'));
    if (this.workers.length === 0) this.start();
    const w = this.workers[this.turn++ % this.workers.length]!;
    let keyId = this.keyIds.get(key);
    if (keyId === undefined) this.keyIds.set(key, (keyId = this.nextKeyId++));
    // a view would clone its whole backing buffer (the request body, or Buffer's 8 KiB pool): copy the 256 bytes and transfer them
    const own = new Uint8Array(data);
    const job: RsaJob = { id: this.nextId++, keyId, data: own };
    if (!w.keys.has(keyId)) {
      job.key = key; // sent once per worker
      w.keys.add(keyId);
    }
    return new Promise((resolve, reject) => {
      if (w.pending.size === 0) w.worker.ref(); // referenced only while it has work
      w.pending.set(job.id, { resolve, reject });
      w.worker.postMessage(job, [own.buffer]);
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
      const entry = { worker, pending: new Map<number, { resolve(b: Buffer): void; reject(e: Error): void }>(), keys: new Set<number>() };
      worker.on('message', (r: RsaResult) => {
        const p = entry.pending.get(r.id);
        entry.pending.delete(r.id);
        if (entry.pending.size === 0) worker.unref();
        if (r.ok) p?.resolve(Buffer.from(r.em.buffer, r.em.byteOffset, r.em.byteLength));
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
