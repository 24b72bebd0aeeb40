/**
 * SCEP enrollment throughput: our server against Debian's micromdm `scepserver`, both real servers on
 * loopback with 2048-bit CA keys and the same challenge, loaded the same way in the same run (these
 * machines are shared and noisy, so the ratio is the figure that matters).
 *
 *   npm run bench:scep -- [--requests N] [--concurrency C] [--rounds R] [--json] [--skip-peer]
 *
 * Requests are prepared untimed (PKCSReq, AES-256-CBC, SHA-256, distinct transactionIDs and CNs,
 * keys from a small pool: neither server cares about repeated keys). Each round starts a fresh pair
 * of servers and measures peer, then ours (peer, ours, peer, ours...), each after a short untimed
 * warm-up. The timed loop only sends bytes and reads pkiStatus; a sample of the answers is opened
 * and checked (signature, nonce, transactionID, certificate for the requester's key) afterwards.
 * Server CPU comes from /proc for the server's whole process group (threads and cluster workers).
 */
import path from 'node:path';
import { KeyObject, createPublicKey } from 'node:crypto';
import { ScepClient, CaCertificates, PreparedRequest, newRsaKey } from '../../src/scep/client/scep-client';
import { openCertRep } from '../../src/scep/client/scep-client.codec';
import { OID } from '../../src/pki/oids';
import { contentCipherByOid } from '../../src/pki/content-cipher';
import { PkiStatus } from '../../src/scep/scep.types';
import { startScepserver, Scepserver } from '../../test/support/scepserver';
import { freePort } from '../../test/support/ports';
import { makeTempDir, removeDir, spawnDaemon, waitFor, Daemon } from '../../test/support/proc';
import { runLoad, LoadResult } from './scep-load';

const CHALLENGE = 'bench-static-challenge';
const USAGE = `usage: scep-bench [options]
  --requests N        timed enrollments per server and round (default 2000)
  --concurrency C     requests in flight (default 16)
  --rounds R          rounds, each on a fresh pair of servers: peer, then ours (default 2)
  --warmup W          untimed enrollments per server before its timed run (default 100)
  --keys K            RSA keys in the requesters' pool (default 32)
  --verify V          answers opened and checked after each round (default 100; "all")
  --skip-peer         measure our server only
  --node-args "..."   extra node options for our server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
  --json              print the results as JSON
  Our server also receives the SCEPTER_* variables of this environment (e.g. SCEPTER_WORKERS,
  SCEPTER_RSA_THREADS).`;

interface Options {
  requests: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  keys: number;
  verify: number;
  skipPeer: boolean;
  nodeArgs: string[];
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { requests: 2000, concurrency: 16, rounds: 2, warmup: 100, keys: 32, verify: 100, skipPeer: false, nodeArgs: [], json: false };
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
      case '--skip-peer':
        o.skipPeer = true;
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

/** Our server as its own process (node dist/src/server.js) on a temp SQLite file and CA directory. */
async function startOurs(nodeArgs: string[]): Promise<Target> {
  const dir = makeTempDir('scepter-bench');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SCEPTER_DATABASE: path.join(dir, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_STATIC_CHALLENGE: CHALLENGE,
    SCEPTER_LOG_LEVEL: 'warn',
    SCEPTER_TLS_PORT: '0', // the device-trust HTTPS listener: any free port
    SCEPTER_SYNC_SCHEDULE: 'off',
  };
  delete env.SCEPTER_CA_KEY_PASSPHRASE;
  delete env.SCEPTER_RA;
  const server = path.resolve(__dirname, '..', '..', 'src', 'server.js');
  let daemon: Daemon | undefined;
  try {
    daemon = spawnDaemon(process.execPath, [...nodeArgs, server], { env, cwd: dir });
    const d = daemon;
    const url = `http://127.0.0.1:${port}/scep`;
    await waitFor(
      async () => {
        if (!d.isRunning()) throw new Error(`our server exited: ${d.output()}`);
        return fetch(`${url}?operation=GetCACaps`).then(
          (r) => r.ok,
          () => false,
        );
      },
      30_000,
      'our server',
    );
    return {
      name: 'scepter',
      url,
      pgid: d.pid,
      async stop() {
        await d.stop(20_000); // SIGTERM: lets --cpu-prof write its profile
        removeDir(dir);
      },
    };
  } catch (err) {
    await daemon?.stop();
    removeDir(dir);
    throw err;
  }
}

async function startPeer(): Promise<Target> {
  const peer: Scepserver = await startScepserver({ challenge: CHALLENGE, keySize: 2048 });
  return { name: 'micromdm', url: peer.url, pgid: peer.daemon.pid, stop: () => peer.stop() };
}

interface Batch {
  requests: PreparedRequest[];
  bodies: Buffer[];
}

/** Untimed: N PKCSReqs for one server, distinct CNs and transactionIDs, prepared 8 at a time. */
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
  clientCpuShare: number;
  verified: number;
  verifyProblems: string[];
  /** content encryption of the CertRep envelopes checked */
  replyCiphers: string[];
}

function table(rows: Row[]): string {
  const head = ['server', 'round', 'enroll/s', 'p50 ms', 'p99 ms', 'failures', 'srv CPU ms/enr', 'client CPU', 'verified', 'reply cipher'];
  const lines = rows.map((r) => [
    r.server,
    String(r.round),
    r.perSecond.toFixed(1),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    `${r.failures}/${r.requests}` + (r.failures ? ` ${JSON.stringify(r.failureKinds)}` : ''),
    r.serverCpuMsPerEnrollment.toFixed(2),
    `${(r.clientCpuShare * 100).toFixed(0)}%`,
    `${r.verified - r.verifyProblems.length}/${r.verified}`,
    r.replyCiphers.join(' '),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  return [head, ...lines].map((l) => l.map((x, c) => x.padEnd(widths[c]!)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => (o.json ? process.stderr : process.stdout).write(s + '\n');
  const targets: Target[] = [];
  try {
    // A fresh pair of servers for every round: micromdm's file depot scans its index.txt on every
    // enrollment, so it slows down as it fills (about 280/s on a fresh depot, 150/s past 4,000).
    const t = Date.now();
    const keys = await Promise.all(Array.from({ length: o.keys }, () => newRsaKey()));
    const plan: { target: Target; round: number; warmup: Batch; timed: Batch }[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      for (const start of o.skipPeer ? [() => startOurs(o.nodeArgs)] : [startPeer, () => startOurs(o.nodeArgs)]) {
        const target = await start();
        targets.push(target);
        const client = new ScepClient(target.url);
        const cas = await client.getCaCertificates();
        const warmup = await prepare(client, cas, keys, `${target.name}-r${r}-w`, o.warmup);
        plan.push({ target, round: r, warmup, timed: await prepare(client, cas, keys, `${target.name}-r${r}`, o.requests) });
      }
    }
    log(
      `prepared ${o.keys} keys and ${(o.warmup + o.requests) * plan.length} requests for ${plan.length} servers in ${((Date.now() - t) / 1000).toFixed(1)} s (untimed)`,
    );

    const rows: Row[] = [];
    for (const p of plan) {
      if (p.warmup.bodies.length) await runLoad(p.target.url, p.warmup.bodies, o.concurrency);
      const res = await runLoad(p.target.url, p.timed.bodies, o.concurrency, p.target.pgid);
      const v = await verifySample(p.timed, res, o.verify);
      const enrolled = res.requests - res.failures;
      rows.push({
        server: p.target.name,
        round: p.round,
        requests: res.requests,
        perSecond: res.perSecond,
        p50: res.p50,
        p99: res.p99,
        failures: res.failures + v.bad,
        failureKinds: { ...res.failureKinds, ...(v.bad ? { 'bad on verify (sample)': v.bad } : {}) },
        serverCpuMsPerEnrollment: (res.serverCpu * 1000) / Math.max(1, enrolled),
        clientCpuShare: res.clientCpu / res.seconds,
        verified: v.checked,
        verifyProblems: v.reasons,
        replyCiphers: v.replyCiphers,
      });
      log(`  ${p.target.name} round ${p.round}: ${res.perSecond.toFixed(1)} enrollments/s, ${res.failures} failures`);
    }

    const mean = (name: string) => {
      const xs = rows.filter((r) => r.server === name).map((r) => r.perSecond);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const ratio = o.skipPeer ? undefined : mean('scepter') / mean('micromdm');
    if (o.json) {
      process.stdout.write(JSON.stringify({ options: { ...o, verify: o.verify === Infinity ? 'all' : o.verify }, rows, ratio }, null, 2) + '\n');
    } else {
      log(`\n${o.requests} enrollments per round, concurrency ${o.concurrency}, 2048-bit CA keys, AES-256-CBC + SHA-256\n`);
      log(table(rows));
      for (const r of rows) for (const why of r.verifyProblems) log(`  ${r.server} round ${r.round}: ${why}`);
      if (ratio !== undefined) log(`\nratio scepter/micromdm (mean enrollments/s): ${ratio.toFixed(2)}x`);
    }
  } finally {
    for (const target of targets.reverse()) await target.stop().catch(() => undefined);
  }
}

main().catch((err) => {
  process.stderr.write(`scep-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
