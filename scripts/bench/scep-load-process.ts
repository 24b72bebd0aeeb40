/**
 * The SCEP load generator in a process of its own, so that neither the benchmark's bookkeeping nor
 * the server under test shares its event loop: the parent writes the prepared bodies to a file, this
 * process sends them (runLoad) and writes the answers to another file, then reports the figures over
 * the IPC channel. Every server of a benchmark run is loaded by the same code with the same bodies.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { runLoad, LoadResult } from './scep-load';

/** Length-prefixed buffers (u32 count, then u32 length + bytes each; length 0xffffffff = none). */
function writeBuffers(file: string, list: (Buffer | undefined)[]): void {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeUInt32BE(list.length);
  parts.push(head);
  for (const b of list) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b ? b.length : 0xffffffff);
    parts.push(len);
    if (b) parts.push(b);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}

function readBuffers(file: string): (Buffer | undefined)[] {
  const all = fs.readFileSync(file);
  const n = all.readUInt32BE(0);
  const out: (Buffer | undefined)[] = new Array(n);
  let p = 4;
  for (let i = 0; i < n; i++) {
    const len = all.readUInt32BE(p);
    p += 4;
    if (len === 0xffffffff) continue;
    out[i] = all.subarray(p, p + len);
    p += len;
  }
  return out;
}

type Summary = Omit<LoadResult, 'bodies'>;

/** Runs one load in a child process and returns its result, answers included. */
export async function runLoadInProcess(url: string, bodies: Buffer[], concurrency: number, serverPgid?: number): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scep-load-'));
  const requests = path.join(dir, 'requests.bin');
  const answers = path.join(dir, 'answers.bin');
  try {
    writeBuffers(requests, bodies);
    const child = fork(__filename, [requests, answers, url, String(concurrency), String(serverPgid ?? 0)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const summary = await new Promise<Summary>((resolve, reject) => {
      let got: Summary | undefined;
      child.on('message', (m) => (got = m as Summary));
      child.on('error', reject);
      child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`load process exited with code ${code} without a result`))));
    });
    return { ...summary, bodies: readBuffers(answers) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function child(): Promise<void> {
  const [requests, answers, url, concurrency, pgid] = process.argv.slice(2);
  const bodies = readBuffers(requests!) as Buffer[];
  const result = await runLoad(url!, bodies, Number(concurrency), Number(pgid) || undefined);
  writeBuffers(answers!, result.bodies);
  const { bodies: _answers, ...summary } = result;
  process.send!(summary, () => process.exit(0));
}

if (require.main === module && process.send) {
  child().catch((err) => {
    process.stderr.write(`scep-load-process: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
