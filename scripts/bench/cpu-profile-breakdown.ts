/**
 * Where an enrollment's CPU goes, from the .cpuprofile files that `node --cpu-prof` writes for the
 * server's main thread and each worker thread (bench:scep --node-args "--cpu-prof --cpu-prof-dir=D"):
 * self time per category, from the first sample inside a PKIOperation to the last one, divided by the
 * number of enrollments in that window.
 *
 *   node dist/scripts/bench/cpu-profile-breakdown.js DIR ENROLLMENTS
 *
 * A sample is put in the category of the innermost frame that names one (so `verify` called from the
 * CMS code counts as a signature check, and the DER reader called from the CSR code as parsing).
 */
import fs from 'node:fs';
import path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const CATEGORIES: [string, (fn: string, url: string) => boolean][] = [
  // RSA private-key operations run on worker threads; on the main thread `signOneShot` only queues a
  // signature for libuv's pool (the callback form), which is a hand-off
  ['RSA (private key)', (fn) => fn === 'privateDecrypt' || fn === 'rsaPrivate' || fn === 'signSync'],
  ['thread hand-offs', (fn) => fn === 'signOneShot'],
  ['signature checks', (fn) => fn === 'verify' || fn === 'verifyOneShot' || fn === 'verifyInline' || fn === 'verifySignature'],
  ['decryption', (fn, url) => url.includes('rsa-key-transport') || url.includes('content-cipher') || fn === 'privateDecrypt' || fn === 'publicEncrypt'],
  [
    'thread hand-offs',
    (fn, url) =>
      /postMessage|MessagePort|onmessage|emitMessage|drainMessagePort|receiveMessageOnPort/.test(fn) ||
      url.includes('worker_threads') ||
      url.includes('internal/worker'),
  ],
  ['logging', (_fn, url) => /pino|sonic-boom|fast-redact|logger/.test(url)],
  ['database', (_fn, url) => /sqlite3|typeorm|raw-sql|issuance-batch|scep-store|database\.js|\/db\//.test(url)],
  ['issuance', (_fn, url) => /certificate-builder|certificate-authority|subject-policy|enrollment\.handler|renewal\.policy|X509Certificate/.test(url)],
  ['parsing', (_fn, url) => /der-reader|der-values|der-writer|certificate\.js|csr\.js|cms-|pki-message|public-key|names\.js|issuer-and-serial/.test(url)],
  [
    'HTTP',
    (_fn, url) =>
      /_http|node:http|koa|@koa|router|raw-body|net\.js|node:net|stream|read-body|scep\.router|metrics|prom-client|error-mapping|app\.js|on-finished|content-type|statuses/.test(
        url,
      ),
  ],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
];

function categorize(stack: Node[]): string {
  for (let i = stack.length - 1; i >= 0; i--) {
    const f = stack[i]!.callFrame;
    for (const [name, test] of CATEGORIES) if (test(f.functionName, f.url)) return name;
  }
  const top = stack[stack.length - 1]?.callFrame.functionName ?? '';
  return top === '(idle)' ? 'idle' : top === '(program)' ? 'other (native, event loop)' : 'other JavaScript';
}

export function breakdown(file: string): { window: number; byCategory: Map<string, number> } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): Node[] => {
    const s: Node[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) s.unshift(byId.get(cur)!);
    return s;
  };
  const stacks = new Map<number, Node[]>();
  const inPki = (s: Node[]) => s.some((n) => /pkiOperation|decrypt-job|onmessage|privateDecrypt/i.test(n.callFrame.functionName));
  let t = 0;
  const times: number[] = p.timeDeltas.map((d) => (t += d));
  // window: first to last sample inside the SCEP work
  let first = -1;
  let last = -1;
  p.samples.forEach((id, i) => {
    let s = stacks.get(id);
    if (!s) stacks.set(id, (s = stackOf(id)));
    if (inPki(s)) {
      if (first < 0) first = i;
      last = i;
    }
  });
  const byCategory = new Map<string, number>();
  if (first < 0) {
    // a worker thread: all of it
    first = 0;
    last = p.samples.length - 1;
  }
  for (let i = first; i <= last; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms until the next sample
    const c = categorize(stacks.get(p.samples[i]!)!);
    byCategory.set(c, (byCategory.get(c) ?? 0) + dt);
  }
  return { window: (times[last]! - times[first]!) / 1000, byCategory };
}

function main(): void {
  const [dir, enrollments] = process.argv.slice(2);
  if (!dir || !enrollments) throw new Error('usage: cpu-profile-breakdown DIR ENROLLMENTS');
  const n = Number(enrollments);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const total = new Map<string, number>();
  for (const f of files.sort()) {
    const { window, byCategory } = breakdown(path.join(dir, f));
    const busy = [...byCategory].filter(([c]) => c !== 'idle').reduce((a, [, v]) => a + v, 0);
    process.stdout.write(`${f}: window ${window.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (${((busy / n) * 1000).toFixed(0)} µs per enrollment)\n`);
    for (const [c, ms] of [...byCategory].sort((a, b) => b[1] - a[1])) {
      process.stdout.write(`  ${c.padEnd(28)} ${((ms / n) * 1000).toFixed(0).padStart(6)} µs\n`);
      if (c !== 'idle') total.set(c, (total.get(c) ?? 0) + ms);
    }
  }
  process.stdout.write(`all threads, per enrollment (idle excluded):\n`);
  let sum = 0;
  for (const [c, ms] of [...total].sort((a, b) => b[1] - a[1])) {
    sum += ms;
    process.stdout.write(`  ${c.padEnd(28)} ${((ms / n) * 1000).toFixed(0).padStart(6)} µs\n`);
  }
  process.stdout.write(`  ${'total'.padEnd(28)} ${((sum / n) * 1000).toFixed(0).padStart(6)} µs\n`);
}

if (require.main === module) main();
