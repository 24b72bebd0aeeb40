/**
 * SCEP enrollment throughput against the machine's own limit and against Debian's micromdm
 * `scepserver`, in one invocation (these machines are shared and differ by 3x from day to day, so
 * only ratios measured in the same run mean anything):
 *
 *   npm run bench:scep -- [--requests N] [--concurrency C] [--rounds R] [--with ra,postgres,ca3072] [--json]
 *
 * Each round measures, one after the other:
 *   - the floor: `openssl speed -multi <cores> -seconds 3 rsa2048` signatures per second divided by
 *     three, the RSA private-key operations of one enrollment (key-transport decryption, certificate
 *     signature, CertRep signature);
 *   - the CPU of those three operations (two SHA-256 signatures and one raw decryption with the CA
 *     key, in this process);
 *   - micromdm `scepserver` and Scepter (default SQLite setup), both with the same 2048-bit CA (ours,
 *     copied into micromdm's depot), so that both receive the very same request bytes;
 *   - optionally (--with, no goal) Scepter in RA mode, on PostgreSQL, and with a 3072-bit CA.
 * Every server is fresh for each round and gets an untimed warm-up. The load generator is a process
 * of its own (scep-load-process.ts): it only sends bytes and reads pkiStatus; a sample of the answers
 * is opened and checked (signature, nonce, transactionID, certificate for the requester's key)
 * afterwards. Server CPU is read from /proc for the server's process group (all its threads).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { KeyObject, createPrivateKey, createPublicKey, constants, privateDecrypt, sign } from 'node:crypto';
import { ScepClient, CaCertificates, PreparedRequest, newRsaKey } from '../../src/scep/client/scep-client';
import { openCertRep } from '../../src/scep/client/scep-client.codec';
import { OID } from '../../src/pki/oids';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { PkiStatus } from '../../src/scep/scep.types';
import { startScepserver } from '../../test/support/scepserver';
import { createTestDatabase, postgresAvailable } from '../../test/support/postgres';
import { freePort } from '../../test/support/ports';
import { makeTempDir, removeDir, spawnDaemon, waitFor, Daemon } from '../../test/support/proc';
import { LoadResult } from './scep-load';
import { runLoadInProcess } from './scep-load-process';

const CHALLENGE = 'bench-static-challenge';
const VARIANTS = ['ra', 'postgres', 'ca3072'] as const;
type Variant = (typeof VARIANTS)[number];
const USAGE = `usage: scep-bench [options]
  --requests N        timed enrollments per server and round (default 2000)
  --concurrency C     requests in flight (default 16)
  --rounds R          rounds; each measures the floor, micromdm, then Scepter, on fresh servers (default 3)
  --warmup W          untimed enrollments per server before its timed run (default 1000: the JIT settles)
  --keys K            RSA keys in the requesters' pool (default 32)
  --verify V          answers opened and checked after each run (default 100; "all")
  --with LIST         also measure Scepter as: ra (RA certificates), postgres (${'SCEPTER_TEST_PG_URL'} or the
                      local server), ca3072 (3072-bit CA); comma-separated, no goal
  --baseline DIR      also measure the default setup from another build (DIR/src/server.js, e.g. a copy
                      of dist/ from before a change, kept inside this checkout so it finds node_modules):
                      a same-run before/after ratio
  --skip-peer         no micromdm
  --skip-floor        no openssl speed (the Scepter/floor ratio is then not printed)
  --node-args "..."   extra node options for Scepter (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
  --json              print the results as JSON
  Scepter also receives the SCEPTER_* variables of this environment (e.g. SCEPTER_RSA_THREADS).`;

interface Options {
  requests: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  keys: number;
  verify: number;
  variants: Variant[];
  baseline?: string;
  skipPeer: boolean;
  skipFloor: boolean;
  nodeArgs: string[];
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    requests: 2000,
    concurrency: 16,
    rounds: 3,
    warmup: 1000,
    keys: 32,
    verify: 100,
    variants: [],
    skipPeer: false,
    skipFloor: false,
    nodeArgs: [],
    json: false,
  };
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min} (got ${v})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--requests':
        o.requests = num(flag, value(), 1);
        break;
      case '--concurrency':
        o.concurrency = num(flag, value(), 1);
        break;
      case '--rounds':
        o.rounds = num(flag, value(), 1);
        break;
      case '--warmup':
        o.warmup = num(flag, value(), 0);
        break;
      case '--keys':
        o.keys = num(flag, value(), 1);
        break;
      case '--verify': {
        const v = value();
        o.verify = v === 'all' ? Infinity : num(flag, v, 0);
        break;
      }
      case '--with':
        for (const v of (value() ?? '').split(',').filter(Boolean)) {
          if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`--with takes ${VARIANTS.join(', ')} (got ${v})`);
          if (!o.variants.includes(v as Variant)) o.variants.push(v as Variant);
        }
        break;
      case '--baseline':
        o.baseline = path.resolve(value() ?? '');
        if (!fs.existsSync(path.join(o.baseline, 'src', 'server.js'))) throw new Error(`--baseline: no src/server.js in ${o.baseline}`);
        break;
      case '--skip-peer':
        o.skipPeer = true;
        break;
      case '--skip-floor':
        o.skipFloor = true;
        break;
      case '--node-args':
        o.nodeArgs = (value() ?? '').split(/\s+/).filter(Boolean);
        break;
      case '--json':
        o.json = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

interface Target {
  name: string;
  url: string;
  pgid: number;
  stop(): Promise<void>;
}

/** How a Scepter server is set up: its CA directory (shared by its rounds) and extra environment. */
interface Setup {
  name: string;
  certsDir: string;
  env: NodeJS.ProcessEnv;
  /** a fresh database URL per server (PostgreSQL); default: a fresh SQLite file */
  database?: () => Promise<{ url: string; drop(): Promise<void> }>;
  caBits: number;
  /** the build to run (a dist directory); default: this one */
  dist?: string;
}

/** Scepter as its own process (node dist/src/server.js) on a fresh database, with the setup's CA. */
async function startScepter(setup: Setup, nodeArgs: string[]): Promise<Target> {
  const dir = makeTempDir('scepter-bench');
  const port = await freePort();
  const db = setup.database ? await setup.database() : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SCEPTER_DATABASE: db?.url ?? path.join(dir, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: setup.certsDir,
    SCEPTER_CA_KEY_BITS: String(setup.caBits),
    SCEPTER_STATIC_CHALLENGE: CHALLENGE,
    SCEPTER_TLS_PORT: '0', // the device-trust HTTPS listener: any free port
    SCEPTER_SYNC_SCHEDULE: 'off',
    ...setup.env,
  };
  delete env.SCEPTER_CA_KEY_PASSPHRASE;
  const server = path.join(setup.dist ?? path.resolve(__dirname, '..', '..'), 'src', 'server.js');
  let daemon: Daemon | undefined;
  const cleanup = async () => {
    removeDir(dir);
    await db?.drop().catch(() => undefined);
  };
  try {
    daemon = spawnDaemon(process.execPath, [...nodeArgs, server], { env, cwd: dir });
    const d = daemon;
    const url = `http://127.0.0.1:${port}/scep`;
    await waitFor(
      async () => {
        if (!d.isRunning()) throw new Error(`Scepter exited: ${d.output()}`);
        return fetch(`${url}?operation=GetCACaps`).then(
          (r) => r.ok,
          () => false,
        );
      },
      60_000,
      'Scepter',
    );
    return {
      name: setup.name,
      url,
      pgid: d.pid,
      async stop() {
        await d.stop(20_000); // SIGTERM: lets --cpu-prof write its profile
        if (process.env.SCEP_BENCH_SERVER_OUTPUT) fs.writeFileSync(process.env.SCEP_BENCH_SERVER_OUTPUT, d.output());
        await cleanup();
      },
    };
  } catch (err) {
    await daemon?.stop();
    await cleanup();
    throw err;
  }
}

/** micromdm's scepserver with the CA of `certsDir` (Scepter's files), so that it takes the same requests. */
async function startMicromdm(certsDir: string): Promise<Target> {
  const key = createPrivateKey(fs.readFileSync(path.join(certsDir, 'ca.key.pem')));
  // scepserver reads only a legacy-encrypted PKCS#1 key (DEK-Info), with the password given by -capass
  const pass = 'bench-ca-pass';
  const keyPem = key.export({ type: 'pkcs1', format: 'pem', cipher: 'des-ede3-cbc', passphrase: pass }) as string;
  const ca = { certPem: fs.readFileSync(path.join(certsDir, 'ca.cert.pem'), 'utf8'), keyPem, pass };
  const peer = await startScepserver({ challenge: CHALLENGE, keySize: 2048, ca });
  return { name: 'micromdm', url: peer.url, pgid: peer.daemon.pid, stop: () => peer.stop() };
}

interface Batch {
  requests: PreparedRequest[];
  bodies: Buffer[];
}

/** Untimed: N PKCSReqs, distinct CNs and transactionIDs, prepared 8 at a time. */
async function prepare(client: ScepClient, cas: CaCertificates, keys: KeyObject[], label: string, n: number): Promise<Batch> {
  const requests: PreparedRequest[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const id = `bench-${label}-${i}-${process.pid}`;
        requests[i] = await client.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: id }],
          challenge: CHALLENGE,
          key: keys[i % keys.length],
          cipherOid: OID.aes256Cbc,
          digest: 'sha256',
          transactionId: id,
        });
      }
    }),
  );
  return { requests, bodies: requests.map((r) => r.der) };
}

/** After timing: opens a sample of the answers counted as enrollments and checks them fully. */
async function verifySample(
  batch: Batch,
  result: LoadResult,
  sample: number,
): Promise<{ checked: number; bad: number; reasons: string[]; replyCiphers: string[] }> {
  const indexes = result.ok.flatMap((ok, i) => (ok ? [i] : []));
  const step = Math.max(1, Math.floor(indexes.length / Math.min(sample, indexes.length || 1)));
  const chosen = sample === Infinity ? indexes : indexes.filter((_, k) => k % step === 0).slice(0, sample);
  const reasons: string[] = [];
  const ciphers = new Set<string>();
  for (const i of chosen) {
    const req = batch.requests[i]!;
    try {
      const rep = await openCertRep(result.bodies[i]!, req.requester);
      ciphers.add(contentCipherByOid(rep.cipherOid ?? '')?.name ?? String(rep.cipherOid));
      const spki = createPublicKey(req.requester.key).export({ type: 'spki', format: 'der' });
      const cert = rep.certificates.find((c) => c.spkiDer.equals(spki));
      const problem = !rep.signatureValid
        ? 'CertRep signature does not verify'
        : rep.message.pkiStatus !== PkiStatus.SUCCESS
          ? 'not SUCCESS'
          : rep.message.transactionId !== req.transactionId
            ? 'wrong transactionID'
            : !rep.message.recipientNonce?.equals(req.senderNonce)
              ? 'recipientNonce does not match'
              : !cert
                ? 'no certificate for the requester key'
                : undefined;
      if (problem) reasons.push(`#${i}: ${problem}`);
    } catch (err) {
      reasons.push(`#${i}: ${(err as Error).message}`);
    }
  }
  return { checked: chosen.length, bad: reasons.length, reasons: reasons.slice(0, 5), replyCiphers: [...ciphers] };
}

/** RSA-2048 private-key signatures per second of the whole machine (`openssl speed -multi <cores>`). */
function opensslSignsPerSecond(cores: number, bits: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('openssl', ['speed', '-multi', String(cores), '-seconds', '3', `rsa${bits}`], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`openssl speed failed: ${err.message} ${stderr}`));
      const lines = [...stdout.matchAll(/^rsa\s+(\d+)\s+bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+[\d.]+/gm)];
      const last = lines[lines.length - 1];
      if (!last) return reject(new Error(`openssl speed: no rsa${bits} line in ${JSON.stringify(stdout.slice(-400))}`));
      resolve(Number(last[2]));
    });
  });
}

/**
 * CPU seconds of one enrollment's three RSA private-key operations with `key` (two SHA-256
 * signatures, one raw decryption of a key-transport block), measured in this process.
 */
function rsaTripleCpu(key: KeyObject): number {
  const bytes = (key.asymmetricKeyDetails?.modulusLength ?? 2048) / 8;
  const block = Buffer.alloc(bytes, 0x11);
  block[0] = 0; // below the modulus
  const data = Buffer.alloc(400, 7);
  const once = () => {
    sign('sha256', data, key);
    sign('sha256', data, key);
    privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block);
  };
  for (let i = 0; i < 5; i++) once();
  const c0 = process.cpuUsage();
  let n = 0;
  let used = 0;
  while (used < 1.0) {
    for (let i = 0; i < 10; i++) once();
    n += 10;
    const c = process.cpuUsage(c0);
    used = (c.user + c.system) / 1e6;
  }
  return used / n;
}

interface Row {
  server: string;
  round: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  failures: number;
  failureKinds: Record<string, number>;
  serverCpuMsPerEnrollment: number;
  /** of which the main thread (event loop) */
  mainCpuMsPerEnrollment: number;
  /** server CPU per enrollment divided by the CPU of the three RSA operations (same round, same key size) */
  cpuOverRsa: number;
  /** enrollments/s divided by the round's floor */
  overFloor?: number;
  clientCpuShare: number;
  load1: number;
  verified: number;
  verifyProblems: string[];
  /** content encryption of the CertRep envelopes checked */
  replyCiphers: string[];
}

interface RoundFloor {
  round: number;
  cores: number;
  signsPerSecond?: number;
  /** enrollments per second the machine's RSA allows: signs/s divided by 3 */
  floor?: number;
  /** CPU ms of the three RSA operations by key size */
  rsaTripleMs: Record<number, number>;
  load1: number;
}

function table(rows: Row[]): string {
  const head = [
    'server',
    'round',
    'enroll/s',
    '/floor',
    'p50 ms',
    'p99 ms',
    'failures',
    'CPU ms/enr',
    'main thread',
    'CPU/RSA',
    'load',
    'client CPU',
    'verified',
    'reply cipher',
  ];
  const lines = rows.map((r) => [
    r.server,
    String(r.round),
    r.perSecond.toFixed(1),
    r.overFloor === undefined ? '-' : `${(r.overFloor * 100).toFixed(0)}%`,
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    `${r.failures}/${r.requests}` + (r.failures ? ` ${JSON.stringify(r.failureKinds)}` : ''),
    r.serverCpuMsPerEnrollment.toFixed(2),
    r.server === 'micromdm' ? '-' : r.mainCpuMsPerEnrollment.toFixed(2), // a Go program: no event loop
    r.cpuOverRsa.toFixed(2),
    r.load1.toFixed(1),
    `${(r.clientCpuShare * 100).toFixed(0)}%`,
    `${r.verified - r.verifyProblems.length}/${r.verified}`,
    r.replyCiphers.join(' '),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  return [head, ...lines].map((l) => l.map((x, c) => x.padEnd(widths[c]!)).join('  ')).join('\n');
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Starts Scepter once, untimed, so that it creates the setup's CA files; returns the CA certificates. */
async function createCa(setup: Setup): Promise<void> {
  const t = await startScepter(setup, []);
  await t.stop();
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => (o.json ? process.stderr : process.stdout).write(s + '\n');
  const cores = os.availableParallelism();
  const work = makeTempDir('scep-bench');
  const live: Target[] = [];
  try {
    const setups: Setup[] = [{ name: 'scepter', certsDir: path.join(work, 'ca2048'), env: {}, caBits: 2048 }];
    if (o.baseline) setups.push({ name: 'scepter-before', certsDir: setups[0]!.certsDir, env: {}, caBits: 2048, dist: o.baseline });
    if (o.variants.includes('ra')) setups.push({ name: 'scepter-ra', certsDir: path.join(work, 'ca2048-ra'), env: { SCEPTER_RA: 'on' }, caBits: 2048 });
    if (o.variants.includes('postgres')) {
      const why = await postgresAvailable();
      if (why) throw new Error(`--with postgres: ${why}`);
      setups.push({ name: 'scepter-pg', certsDir: setups[0]!.certsDir, env: {}, caBits: 2048, database: createTestDatabase });
    }
    if (o.variants.includes('ca3072')) setups.push({ name: 'scepter-ca3072', certsDir: path.join(work, 'ca3072'), env: {}, caBits: 3072 });

    // Untimed: the CAs, and one set of requests per CA, replayed to a fresh server in every round
    // (micromdm gets the default setup's CA and so the very same bytes as Scepter).
    const t = Date.now();
    const keys = await Promise.all(Array.from({ length: o.keys }, () => newRsaKey()));
    const batches = new Map<string, { warmup: Batch; timed: Batch }>();
    for (const setup of setups) {
      if (batches.has(setup.certsDir)) continue;
      await createCa(setup);
      const target = await startScepter(setup, []);
      try {
        const client = new ScepClient(target.url);
        const cas = await client.getCaCertificates();
        batches.set(setup.certsDir, {
          warmup: await prepare(client, cas, keys, 'w', o.warmup),
          timed: await prepare(client, cas, keys, 't', o.requests),
        });
      } finally {
        await target.stop();
      }
    }
    const caKeys = new Map(setups.map((s) => [s.caBits, createPrivateKey(fs.readFileSync(path.join(s.certsDir, 'ca.key.pem')))]));
    log(
      `${cores} cores; prepared ${o.keys} keys and ${(o.warmup + o.requests) * batches.size} requests in ${((Date.now() - t) / 1000).toFixed(1)} s (untimed); load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );

    const rows: Row[] = [];
    const floors: RoundFloor[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      const f: RoundFloor = { round, cores, rsaTripleMs: {}, load1: os.loadavg()[0]! };
      if (!o.skipFloor) {
        f.signsPerSecond = await opensslSignsPerSecond(cores, 2048);
        f.floor = f.signsPerSecond / 3;
      }
      for (const [bits, key] of caKeys) f.rsaTripleMs[bits] = rsaTripleCpu(key) * 1000;
      floors.push(f);
      log(
        `round ${round}: ${f.floor === undefined ? '' : `floor ${f.floor.toFixed(0)} enrollments/s (openssl ${f.signsPerSecond!.toFixed(0)} signs/s on ${cores} cores), `}three RSA operations ${Object.entries(
          f.rsaTripleMs,
        )
          .map(([b, ms]) => `${ms.toFixed(2)} ms CPU (${b}-bit)`)
          .join(', ')}, load ${f.load1.toFixed(1)}`,
      );

      const order: { name: string; start: () => Promise<Target>; certsDir: string; caBits: number }[] = [];
      if (!o.skipPeer) order.push({ name: 'micromdm', start: () => startMicromdm(setups[0]!.certsDir), certsDir: setups[0]!.certsDir, caBits: 2048 });
      // the build under test and its baseline take turns going first
      const turn = o.baseline && round % 2 === 0 ? [setups[1]!, setups[0]!, ...setups.slice(2)] : setups;
      for (const s of turn) order.push({ name: s.name, start: () => startScepter(s, o.nodeArgs), certsDir: s.certsDir, caBits: s.caBits });
      for (const entry of order) {
        const batch = batches.get(entry.certsDir)!;
        const target = await entry.start();
        live.push(target);
        try {
          if (batch.warmup.bodies.length) await runLoadInProcess(target.url, batch.warmup.bodies, o.concurrency);
          const load1 = os.loadavg()[0]!;
          const res = await runLoadInProcess(target.url, batch.timed.bodies, o.concurrency, target.pgid);
          const v = await verifySample(batch.timed, res, o.verify);
          const enrolled = res.requests - res.failures;
          const cpuMs = (res.serverCpu * 1000) / Math.max(1, enrolled);
          rows.push({
            server: target.name,
            round,
            requests: res.requests,
            perSecond: res.perSecond,
            p50: res.p50,
            p99: res.p99,
            failures: res.failures + v.bad,
            failureKinds: { ...res.failureKinds, ...(v.bad ? { 'bad on verify (sample)': v.bad } : {}) },
            serverCpuMsPerEnrollment: cpuMs,
            mainCpuMsPerEnrollment: (res.serverMainCpu * 1000) / Math.max(1, enrolled),
            cpuOverRsa: cpuMs / f.rsaTripleMs[entry.caBits]!,
            overFloor: f.floor === undefined ? undefined : res.perSecond / f.floor,
            clientCpuShare: res.clientCpu / res.seconds,
            load1,
            verified: v.checked,
            verifyProblems: v.reasons,
            replyCiphers: v.replyCiphers,
          });
          log(
            `  ${target.name}: ${res.perSecond.toFixed(1)} enrollments/s, ${res.failures} failures, p99 ${res.p99.toFixed(1)} ms, ${cpuMs.toFixed(2)} ms CPU/enrollment`,
          );
        } finally {
          live.splice(live.indexOf(target), 1);
          await target.stop();
        }
      }
    }

    const of = (name: string) => rows.filter((r) => r.server === name);
    const perRound = (name: string, peer: string) =>
      floors.map((f) => {
        const a = of(name).find((r) => r.round === f.round);
        const b = of(peer).find((r) => r.round === f.round);
        return a && b ? a.perSecond / b.perSecond : NaN;
      });
    const ours = of('scepter');
    const summary = {
      overFloor: o.skipFloor ? undefined : mean(ours.map((r) => r.overFloor!)),
      overMicromdm: o.skipPeer ? undefined : mean(perRound('scepter', 'micromdm')),
      failures: ours.reduce((a, r) => a + r.failures, 0),
      p50: mean(ours.map((r) => r.p50)),
      p99: Math.max(...ours.map((r) => r.p99)),
      cpuOverRsa: mean(ours.map((r) => r.cpuOverRsa)),
    };
    if (o.json) {
      process.stdout.write(JSON.stringify({ options: { ...o, verify: o.verify === Infinity ? 'all' : o.verify }, floors, rows, summary }, null, 2) + '\n');
      return;
    }
    log(`\n${o.requests} enrollments per run, concurrency ${o.concurrency}, AES-256-CBC + SHA-256; load = 1-min load average at the start of the run\n`);
    log(table(rows));
    for (const r of rows) for (const why of r.verifyProblems) log(`  ${r.server} round ${r.round}: ${why}`);
    const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
    log('\nScepter, default setup (mean over rounds; each ratio against the same round):');
    if (summary.overFloor !== undefined)
      log(`  Scepter/floor      ${(summary.overFloor * 100).toFixed(0)}%   (goal >= 50%: ${goal(summary.overFloor >= 0.5)})`);
    if (summary.overMicromdm !== undefined) log(`  Scepter/micromdm   ${summary.overMicromdm.toFixed(2)}x   (goal >= 3x: ${goal(summary.overMicromdm >= 3)})`);
    log(`  failures           ${summary.failures}   (goal 0: ${goal(summary.failures === 0)})`);
    log(`  p50 / worst p99    ${summary.p50.toFixed(1)} / ${summary.p99.toFixed(1)} ms   (goal p99 < 100 ms: ${goal(summary.p99 < 100)})`);
    log(`  CPU/enrollment     ${summary.cpuOverRsa.toFixed(2)}x the three RSA operations   (goal <= 2x: ${goal(summary.cpuOverRsa <= 2)})`);
    if (o.baseline) {
      const ratio = (f: (r: Row) => number) =>
        mean(floors.map((fl) => f(of('scepter').find((r) => r.round === fl.round)!) / f(of('scepter-before').find((r) => r.round === fl.round)!)));
      log(
        `  this build / baseline: ${ratio((r) => r.perSecond).toFixed(2)}x enrollments/s, ${ratio((r) => r.serverCpuMsPerEnrollment).toFixed(2)}x CPU per enrollment, ${ratio((r) => r.mainCpuMsPerEnrollment).toFixed(2)}x main-thread CPU, ${ratio((r) => r.p99).toFixed(2)}x p99 (same rounds)`,
      );
    }
    for (const s of setups.slice(1)) {
      const rs = of(s.name);
      log(
        `  ${s.name.padEnd(18)} ${mean(rs.map((r) => r.perSecond)).toFixed(0)}/s` +
          (o.skipFloor ? '' : `, ${(mean(rs.map((r) => r.overFloor!)) * 100).toFixed(0)}% of the 2048-bit floor`) +
          `, ${rs.reduce((a, r) => a + r.failures, 0)} failures, p99 ${Math.max(...rs.map((r) => r.p99)).toFixed(1)} ms, CPU ${mean(rs.map((r) => r.cpuOverRsa)).toFixed(2)}x its RSA (no goal)`,
      );
    }
  } finally {
    for (const target of live.reverse()) await target.stop().catch(() => undefined);
    removeDir(work);
  }
}

main().catch((err) => {
  process.stderr.write(`scep-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
