/**
 * SCEP enrollments/s with the CA key in a PKCS#11 token (SoftHSM2) against the same server with a
 * key file, in one run: rounds alternate (file, token, file, token...), each server fresh, loaded the
 * same way. Then the two private-key operations of an enrollment are timed alone, through the same
 * PrivateKey interface the server uses, to say where the difference goes.
 *
 *   npm run bench:hsm -- [--requests N] [--concurrency C] [--rounds R] [--sessions 1,4] [--json]
 *
 * --sessions lists values of SCEPTER_PKCS11_SESSIONS to compare (each one a token server per round).
 */
import fs from 'node:fs';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { constants, createPrivateKey, KeyObject, publicEncrypt } from 'node:crypto';
import { ScepClient, CaCertificates, newRsaKey } from '../../src/scep/client/scep-client';
import { OID } from '../../src/pki/oids';
import { loadConfig } from '../../src/config/config';
import { openKeyStore } from '../../src/ca/key-store';
import { loadOrCreateCa } from '../../src/ca/ca-material';
import { PrivateKey, SoftwareKey } from '../../src/pki/private-key';
import { freePort } from '../../test/support/ports';
import { makeTempDir, removeDir, run, spawnDaemon, waitFor, Daemon } from '../../test/support/proc';
import { runLoad } from './scep-load';

const CHALLENGE = 'bench-static-challenge';
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '123456';

interface Options {
  requests: number;
  concurrency: number;
  rounds: number;
  warmup: number;
  sessions: number[];
  ops: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { requests: 1000, concurrency: 16, rounds: 2, warmup: 50, sessions: [4], ops: 400, json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes('=') ? argv[i]!.split('=', 2) : [argv[i]!, undefined];
    const value = () => inline ?? argv[++i] ?? '';
    const num = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer (got ${v})`);
      return n;
    };
    if (flag === '--requests') o.requests = num(value());
    else if (flag === '--concurrency') o.concurrency = num(value());
    else if (flag === '--rounds') o.rounds = num(value());
    else if (flag === '--warmup') o.warmup = num(value());
    else if (flag === '--ops') o.ops = num(value());
    else if (flag === '--sessions') o.sessions = value().split(',').map(num);
    else if (flag === '--json') o.json = true;
    else throw new Error(`unknown option ${flag} (see the comment at the top of scripts/bench/hsm-bench.ts)`);
  }
  return o;
}

interface Token {
  dir: string;
  conf: string;
  pinFile: string;
}

async function createToken(): Promise<Token> {
  const dir = makeTempDir('scepter-hsm-bench');
  fs.mkdirSync(path.join(dir, 'tokens'));
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const r = await run('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', '12345678', '--pin', PIN]);
  if (r.exitCode !== 0) throw new Error(`softhsm2-util: ${r.stderr}`);
  const pinFile = path.join(dir, 'pin');
  fs.writeFileSync(pinFile, PIN, { mode: 0o600 });
  return { dir, conf, pinFile };
}

interface Target {
  kind: string;
  url: string;
  pgid: number;
  home: string;
  stop(): Promise<void>;
}

/** A server process on a fresh home; with `tokenEnv`, its CA key is generated in the token first (as `scepter init` does). */
async function startServer(kind: string, tokenEnv?: Record<string, string>): Promise<Target> {
  const home = makeTempDir('scepter-hsm-bench-home');
  const port = await freePort();
  const env: Record<string, string> = {
    SCEPTER_HOME: home,
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SCEPTER_DATABASE: path.join(home, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(home, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_STATIC_CHALLENGE: CHALLENGE,
    SCEPTER_LOG_LEVEL: 'warn',
    SCEPTER_TLS_PORT: '0',
    SCEPTER_SYNC_SCHEDULE: 'off',
    ...tokenEnv,
  };
  if (tokenEnv) {
    const config = loadConfig(env);
    const keys = openKeyStore(config, { generate: true });
    try {
      await loadOrCreateCa({ dir: config.certsDir, keys, ...config.ca });
    } finally {
      await keys.close();
    }
  }
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SCEPTER_') || k === 'SCEPTER_RSA_THREADS'));
  const daemon: Daemon = spawnDaemon(process.execPath, [path.resolve(__dirname, '..', '..', 'src', 'server.js')], { env: { ...clean, ...env }, cwd: home });
  const url = `http://127.0.0.1:${port}/scep`;
  await waitFor(
    async () => {
      if (!daemon.isRunning()) throw new Error(`${kind} server exited: ${daemon.output()}`);
      return fetch(`${url}?operation=GetCACaps`).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    `${kind} server`,
  );
  return {
    kind,
    url,
    pgid: daemon.pid,
    home,
    stop: async () => {
      await daemon.stop(20_000);
      removeDir(home);
    },
  };
}

async function prepare(url: string, keys: KeyObject[], label: string, n: number): Promise<Buffer[]> {
  const client = new ScepClient(url);
  const cas: CaCertificates = await client.getCaCertificates();
  const bodies: Buffer[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const id = `hsm-${label}-${i}-${process.pid}`;
        const r = await client.preparePkcsReq({
          cas,
          subject: [{ type: 'CN', value: id }],
          challenge: CHALLENGE,
          key: keys[i % keys.length]!,
          cipherOid: OID.aes256Cbc,
          digest: 'sha256',
          transactionId: id,
        });
        bodies[i] = r.der;
      }
    }),
  );
  return bodies;
}

/** ops/s, mean latency and CPU time (this process, every thread) of `fn` run `n` times, `inFlight` at once. */
async function opsPerSecond(n: number, inFlight: number, fn: () => Promise<unknown>): Promise<{ perSecond: number; meanMs: number; cpuMsPerOp: number }> {
  let next = 0;
  let busy = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) {
        const t = process.hrtime.bigint();
        await fn();
        busy += Number(process.hrtime.bigint() - t) / 1e6;
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { perSecond: n / s, meanMs: busy / n, cpuMsPerOp: (used.user + used.system) / 1000 / n };
}

interface OpRow {
  key: string;
  op: string;
  inFlight: number;
  perSecond: number;
  meanMs: number;
  cpuMsPerOp: number;
}

/** The enrollment's private-key operations alone, token key against file key, interleaved. */
async function keyOperations(token: Token, o: Options): Promise<OpRow[]> {
  const home = makeTempDir('scepter-hsm-bench-ops');
  const config = loadConfig({
    SCEPTER_HOME: home,
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_CA_KEY: 'pkcs11:token=bench;object=ops',
    SCEPTER_PKCS11_MODULE: MODULE,
    SCEPTER_PKCS11_PIN_FILE: token.pinFile,
    SCEPTER_PKCS11_SESSIONS: String(Math.max(...o.sessions)),
  });
  const store = openKeyStore(config, { generate: true });
  const rows: OpRow[] = [];
  try {
    const material = await loadOrCreateCa({ dir: config.certsDir, keys: store, ...config.ca });
    const tokenKey = material.ca.key;
    const fileKey = new SoftwareKey(createPrivateKey((await newRsaKey(2048)).export({ type: 'pkcs8', format: 'pem' })));
    const data = Buffer.alloc(1500, 7);
    const cipherFor = (k: PrivateKey) => publicEncrypt({ key: k.publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.alloc(32, 1));
    for (const inFlight of [1, 8]) {
      for (const [name, key] of [
        ['file', fileKey],
        ['token', tokenKey],
      ] as const) {
        const ct = cipherFor(key);
        await opsPerSecond(20, inFlight, () => key.sign('sha256', data)); // warm-up
        rows.push({ key: name, op: 'sign (SHA-256, PKCS#1 v1.5)', inFlight, ...(await opsPerSecond(o.ops, inFlight, () => key.sign('sha256', data))) });
        rows.push({ key: name, op: 'raw RSA decrypt', inFlight, ...(await opsPerSecond(o.ops, inFlight, () => key.decryptRaw(ct))) });
      }
    }
  } finally {
    await store.close();
    removeDir(home);
  }
  return rows;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => (o.json ? process.stderr : process.stdout).write(s + '\n');
  const token = await createToken();
  const tokenEnv = (sessions: number, object: string) => ({
    SOFTHSM2_CONF: token.conf,
    SCEPTER_CA_KEY: `pkcs11:token=bench;object=${object}`,
    SCEPTER_PKCS11_MODULE: MODULE,
    SCEPTER_PKCS11_PIN_FILE: token.pinFile,
    SCEPTER_PKCS11_SESSIONS: String(sessions),
  });
  const keys = await Promise.all(Array.from({ length: 16 }, () => newRsaKey()));
  const rows: { server: string; round: number; perSecond: number; p50: number; p99: number; failures: number; cpuMsPerEnrollment: number }[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const kinds: [string, Record<string, string> | undefined][] = [
        ['file', undefined],
        ...o.sessions.map((s): [string, Record<string, string>] => [`token (${s} sessions)`, tokenEnv(s, `ca-r${round}-s${s}`)]),
      ];
      for (const [kind, env] of kinds) {
        const target = await startServer(kind, env);
        try {
          if (o.warmup) await runLoad(target.url, await prepare(target.url, keys, `${round}-w`, o.warmup), o.concurrency);
          const bodies = await prepare(target.url, keys, `${round}`, o.requests);
          const r = await runLoad(target.url, bodies, o.concurrency, target.pgid);
          const enrolled = r.requests - r.failures;
          rows.push({
            server: kind,
            round,
            perSecond: r.perSecond,
            p50: r.p50,
            p99: r.p99,
            failures: r.failures,
            cpuMsPerEnrollment: (r.serverCpu * 1000) / Math.max(1, enrolled),
          });
          log(
            `  ${kind} round ${round}: ${r.perSecond.toFixed(1)} enrollments/s, ${r.failures} failures, server CPU ${rows.at(-1)!.cpuMsPerEnrollment.toFixed(2)} ms/enrollment`,
          );
        } finally {
          await target.stop();
        }
      }
    }
    const ops = await keyOperations(token, o);
    const mean = (name: string) => {
      const xs = rows.filter((r) => r.server === name).map((r) => r.perSecond);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const ratios = o.sessions.map((s) => ({ sessions: s, ratio: mean(`token (${s} sessions)`) / mean('file') }));
    if (o.json) {
      process.stdout.write(JSON.stringify({ options: o, cores: availableParallelism(), rows, ratios, ops }, null, 2) + '\n');
      return;
    }
    log(
      `\n${o.requests} enrollments per server and round, concurrency ${o.concurrency}, 2048-bit CA key (no RA: the CA key signs and decrypts), ${availableParallelism()} cores\n`,
    );
    log(['server'.padEnd(22), 'round', 'enroll/s', 'p50 ms', 'p99 ms', 'failures', 'srv CPU ms/enr'].join('  '));
    for (const r of rows)
      log(
        [
          r.server.padEnd(22),
          String(r.round).padEnd(5),
          r.perSecond.toFixed(1).padEnd(8),
          r.p50.toFixed(1).padEnd(6),
          r.p99.toFixed(1).padEnd(6),
          String(r.failures).padEnd(8),
          r.cpuMsPerEnrollment.toFixed(2),
        ].join('  '),
      );
    for (const r of ratios) log(`ratio token (${r.sessions} sessions) / file (mean enrollments/s): ${r.ratio.toFixed(2)}x`);
    log('\nThe private-key operations of one enrollment, alone (2048-bit keys, in this process):\n');
    log(['key'.padEnd(6), 'operation'.padEnd(28), 'in flight', 'ops/s'.padEnd(8), 'mean ms', 'CPU ms/op'].join('  '));
    for (const r of ops)
      log(
        [
          r.key.padEnd(6),
          r.op.padEnd(28),
          String(r.inFlight).padEnd(9),
          r.perSecond.toFixed(0).padEnd(8),
          r.meanMs.toFixed(2).padEnd(7),
          r.cpuMsPerOp.toFixed(2),
        ].join('  '),
      );
  } finally {
    removeDir(token.dir);
  }
}

main().catch((err) => {
  process.stderr.write(`hsm-bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
