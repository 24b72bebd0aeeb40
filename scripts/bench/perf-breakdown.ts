/**
 * Where the server's CPU goes, from Linux `perf` samples (on-CPU only, unlike `node --cpu-prof`,
 * whose wall-clock samples also count the time a thread waits for a core on a loaded machine):
 *
 *   bench:scep -- --node-args "--perf-basic-prof" ...   (JIT symbols in /tmp/perf-<pid>.map)
 *   perf record -F 499 -g -p <server pid> -o perf.data -- sleep 15   (during the timed run)
 *   perf script -i perf.data > perf.txt
 *   node dist/scripts/bench/perf-breakdown.js perf.txt <server pid>
 *
 * Each sample goes to the category of the innermost frame that names one; the main thread (the
 * event loop, thread id = process id) and the other threads (RSA workers, libuv's pool, V8) apart.
 */
import fs from 'node:fs';

const CATEGORIES: [string, RegExp][] = [
  ['RSA private-key operations', /rsa_ossl_private|RSA_private|BN_mod_exp_mont_consttime|rsaz/],
  ['check of the issued certificate (DER walk; OpenSSL X509 read-back)', /X509Certificate|parseBack|readsBack|checkIssued|inDefiniteMinimalForm|isPlainDer/],
  ['public key import', /publicKeyFromSpki|createPublicKey|GetKeyObjectHandleFromJwk/],
  ['signature checks', /verifyInline|verifyOneShot|Verify/],
  ['logging', /pino|sonic|logOperation/],
  ['metrics', /metrics\.middleware|prom-client|histogram/],
  [
    'database',
    /sqlite|typeorm|rawQuery|findTransaction|IssuanceBatcher|TransactionLookupBatcher|writeTogether|recordIssuance|QueryRunner|Broadcaster|EntityManager/,
  ],
  ['thread hand-offs', /signOneShot|signAsync|postMessage|MessagePort|rsa-worker-pool|uv_queue_work|uv_async_send/],
  ['CertRep building (envelope, SignedData)', /encodeCertRep|buildSignedData|buildEnvelopedData|buildDegenerate|encryptContent|publicEncrypt/],
  ['certificate building', /buildCertificate|certificateTbs|CertificateAuthority/],
  [
    'parsing (pkiMessage, envelope, CSR)',
    /decodePkiMessage|parseSignedData|readSignedData|ParsedCsr|ParsedCertificate|fromDer|parseCsr|locate|parseParts|der-reader|readFields/,
  ],
  ['decryption (unpadding, AES)', /unpad|decryptContent|syntheticKey|decryptEnvelopedData/],
  ['HTTP (node:http, Koa, router)', /koa|Koa|router|_http|HTTPParser|parserOn|http|readBody|getRawBody|scep\.router|on-finished/],
  ['garbage collection', /Scavenge|MarkCompact|GCTracer|Heap::|Sweeper|Scavenger|ConcurrentMarking|MinorMC/],
  ['JIT compilation', /compiler::|Compile|Turbofan|Maglev/],
  ['kernel (sockets, wake-ups, scheduling)', /kallsyms/],
];

interface Sample {
  tid: string;
  stack: string[];
}

function readSamples(file: string): Sample[] {
  const samples: Sample[] = [];
  let cur: Sample | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) {
      if (cur) samples.push(cur);
      cur = undefined;
    } else if (!/^\s/.test(line)) {
      const m = /^\s*\S+\s+(\d+)(?:\/(\d+))?/.exec(line);
      cur = { tid: m ? (m[2] ?? m[1]!) : '?', stack: [] };
    } else if (cur) {
      cur.stack.push(
        line
          .trim()
          .replace(/^[0-9a-f]+\s+/, '')
          .replace(/\+0x[0-9a-f]+/, ''),
      );
    }
  }
  if (cur) samples.push(cur);
  return samples;
}

function categorize(stack: string[]): string {
  for (const frame of stack) for (const [name, rx] of CATEGORIES) if (rx.test(frame)) return name;
  return 'other (malloc, libc, unattributed native)';
}

function main(): void {
  const [file, pid] = process.argv.slice(2);
  if (!file || !pid) throw new Error('usage: perf-breakdown PERF_SCRIPT_OUTPUT SERVER_PID');
  const samples = readSamples(file);
  for (const [label, pick] of [
    ['main thread', (s: Sample) => s.tid === pid],
    ['other threads', (s: Sample) => s.tid !== pid],
  ] as const) {
    const chosen = samples.filter(pick);
    const counts = new Map<string, number>();
    for (const s of chosen) counts.set(categorize(s.stack), (counts.get(categorize(s.stack)) ?? 0) + 1);
    process.stdout.write(`${label}: ${chosen.length} samples\n`);
    for (const [c, n] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${((100 * n) / chosen.length).toFixed(1).padStart(5)}%  ${c}\n`);
  }
}

if (require.main === module) main();
