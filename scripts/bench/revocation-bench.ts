/**
 * Revocation at scale (issue 4), with a peer measured in the same run where one exists:
 *   1. revoking all 50,000 certificates of one integration (one set-based UPDATE; target <= 10 s);
 *   2. the CRL with 100,000 revoked entries: loading them, building + signing, and the whole
 *      republication after one more revocation (target <= 2 s);
 *   3. OCSP throughput of our server (node dist/src/server.js, its own process) against
 *      `openssl ocsp -index index.txt -port P -rsigner ca.pem -rkey ca.key -CA ca.pem` on the same CA,
 *      the same 101,000 serials and the same requests (one CertID and a fresh nonce each, as openssl
 *      clients send), at the same concurrency over keep-alive HTTP (target >= 1,000/s for ours).
 *
 *   npm run bench:revocation -- [--requests N] [--concurrency C] [--rounds R]
 *   (= npx tsc -p . && node dist/scripts/bench/revocation-bench.js ...)
 */
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { loadConfig } from '../../src/config/config';
import { buildServices, Services } from '../../src/main';
import { revokeAllForIntegration } from '../../src/ca/revocation.service';
import { RevocationRepository } from '../../src/db/revocation.repository';
import { buildCrl } from '../../src/pki/crl-builder';
import { certIdFor, encodeCertId, OCSP_NONCE_OID } from '../../src/pki/ocsp-codec';
import { derExplicit, derExtension, derOctetString, derSequence } from '../../src/pki/der-writer';
import { freePort } from '../../test/support/ports';
import { makeTempDir, removeDir, waitFor } from '../../test/support/proc';

const ACTOR = { who: 'bench', from: 'bench' };
const BULK = 50_000;
const CRL_ENTRIES = 100_000;
const VALID = 1_000;

interface Options {
  requests: number;
  concurrency: number;
  rounds: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { requests: 4000, concurrency: 16, rounds: 2 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!.replace(/^--/, '') as keyof Options;
    const n = Number(argv[++i]);
    if (!(key in o) || !Number.isInteger(n) || n < 1) throw new Error(`usage: revocation-bench [--requests N] [--concurrency C] [--rounds R]`);
    o[key] = n;
  }
  return o;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
const serialOf = (prefix: number, i: number) => `${prefix.toString(16).toUpperCase()}${i.toString(16).toUpperCase().padStart(8, '0')}${'5A'.repeat(4)}`;

/** Rows straight into the table (untimed set-up), 500 per INSERT, one transaction. */
async function insertCertificates(s: Services, serials: string[], integrationId: string | null): Promise<void> {
  const now = new Date();
  const notAfter = new Date(now.getTime() + 365 * 86_400_000);
  await s.db.transaction(async (m) => {
    const repo = m.getRepository('Certificate');
    for (let i = 0; i < serials.length; i += 500) {
      await repo.insert(
        serials.slice(i, i + 500).map((serial, j) => ({
          serial, subject: `CN=bench-${i + j}`, fingerprintSha256: serial.padEnd(64, '0'), publicKeyHash: serial.padEnd(64, '0'),
          notBefore: now, notAfter, der: Buffer.from([0x30, 0x00]), transactionId: null, endpointId: 'bench', integrationId,
          deviceId: integrationId ? `UDID-${i + j}` : null, status: 'valid', createdAt: now,
        })),
      );
    }
  });
}

/** OCSPRequest with one CertID (SHA-1, as openssl sends) and a nonce extension. */
function ocspRequest(caDer: Buffer, serialHex: string): Buffer {
  const nonce = derExtension(OCSP_NONCE_OID, derOctetString(randomBytes(16)));
  return derSequence(derSequence(derSequence(derSequence(encodeCertId(certIdFor(caDer, serialHex)))), derExplicit(2, derSequence(nonce))));
}

/** OCSPResponseStatus without parsing: SEQUENCE header, then ENUMERATED. */
function responseStatus(body: Buffer): number {
  const lenBytes = body[1]! & 0x80 ? 1 + (body[1]! & 0x7f) : 1;
  const at = 1 + lenBytes;
  return body[at] === 0x0a && body[at + 1] === 1 ? body[at + 2]! : -1;
}

interface Load {
  perSecond: number;
  p50: number;
  p99: number;
  failures: number;
  sample?: Buffer;
}

async function runLoad(url: string, bodies: Buffer[], concurrency: number, keepAlive: boolean): Promise<Load> {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive, maxSockets: concurrency });
  const latencies: number[] = [];
  let failures = 0;
  let sample: Buffer | undefined;
  let next = 0;
  const post = (body: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'Content-Type': 'application/ocsp-request', 'Content-Length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const start = process.hrtime.bigint();
        try {
          const answer = await post(bodies[i]!);
          if (responseStatus(answer) !== 0) failures++;
          else sample ??= answer;
        } catch {
          failures++;
        }
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
  return { perSecond: (bodies.length - failures) / seconds, p50: pct(0.5), p99: pct(0.99), failures, sample };
}

interface Server {
  stop(): Promise<void>;
}

/**
 * A server process, ready once it answers a real OCSP request. (A bare TCP connect would not do:
 * `openssl ocsp` spins on a connection closed without a request and then serves nobody.) Not
 * detached: `openssl ocsp -multi` makes itself a process group leader, which a session leader cannot.
 */
async function startServer(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, url: string, probe: Buffer): Promise<Server> {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  const kill = (sig: NodeJS.Signals) => {
    for (const pid of [-child.pid!, child.pid!]) {
      try {
        process.kill(pid, sig); // the group -multi made, else the process
      } catch {
        // not there
      }
    }
  };
  const onExit = () => kill('SIGKILL');
  process.on('exit', onExit);
  const server: Server = {
    async stop() {
      kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000).unref())]);
      kill('SIGKILL');
      process.off('exit', onExit);
    },
  };
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`${name} exited: ${stderr}`);
        return runLoad(url, [probe], 1, false).then((r) => r.failures === 0, () => false);
      },
      60_000,
      name,
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = makeTempDir('scepter-revocation-bench');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SCEPTER_DATABASE: path.join(dir, 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_LOG_LEVEL: 'warn',
    SCEPTER_TLS_PORT: '0',
    SCEPTER_SYNC_SCHEDULE: 'off',
  };
  const servers: Server[] = [];
  try {
    console.log(`Revocation benchmark (node ${process.version}, ${execFileSync('openssl', ['version']).toString().trim()})`);
    const s = await buildServices(loadConfig(env));
    s.logger.level = 'warn';

    // 1. integration deletion: every certificate of one integration in one UPDATE
    const bulkSerials = Array.from({ length: BULK }, (_, i) => serialOf(0x41, i));
    await insertCertificates(s, bulkSerials, 'DI-BENCH-1');
    const bulk = await timed(() => s.db.transaction((m) => revokeAllForIntegration(m, 'DI-BENCH-1', 'cessationOfOperation', new Date())));
    console.log(`\n1. revokeAllForIntegration, ${BULK.toLocaleString('en')} certificates in one transaction`);
    console.log(`   ${fmt(bulk.ms)}  (${bulk.value.toLocaleString('en')} revoked; target <= 10,000 ms)`);

    // 2. the CRL with 100,000 entries
    await insertCertificates(s, Array.from({ length: CRL_ENTRIES - BULK }, (_, i) => serialOf(0x42, i)), 'DI-BENCH-2');
    await s.db.transaction((m) => revokeAllForIntegration(m, 'DI-BENCH-2', 'keyCompromise', new Date()));
    const validSerials = Array.from({ length: VALID + 3 }, (_, i) => serialOf(0x43, i));
    await insertCertificates(s, validSerials, null);
    await s.revocationView.sync();
    console.log(`\n2. CRL with ${CRL_ENTRIES.toLocaleString('en')} revoked entries (best of 3)`);
    const store = s.revocationView.publisher;
    let load = Infinity;
    let build = Infinity;
    let republish: number[] = [];
    let size = 0;
    for (let run = 0; run < 3; run++) {
      const { ms, value } = await timed(() => new RevocationRepository(s.db).loadRevoked(new Date()));
      load = Math.min(load, ms);
      const now = new Date();
      const b = await timed(() => buildCrl({ issuerCertDer: s.authority.caCertificate.der, issuerKey: s.authority.ca.key, crlNumber: 1n, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries: value.entries }));
      build = Math.min(build, b.ms);
      size = b.value.length;
      // revoke one more certificate: the call returns once the new CRL is signed and stored
      const r = await timed(() => s.revocation.revoke(validSerials[VALID + run]!, { reason: 'keyCompromise', actor: ACTOR }));
      republish.push(r.ms);
    }
    republish = republish.sort((a, b) => a - b);
    console.log(`   load from SQLite      ${fmt(load)}`);
    console.log(`   build + sign          ${fmt(build)}  (${(size / 1e6).toFixed(1)} MB DER)`);
    console.log(`   revoke one + republish ${fmt(republish[0]!)} best, ${fmt(republish[2]!)} worst  (CRL number ${store.current!.crlNumber}; target <= 2,000 ms)`);
    const caPem = path.join(dir, 'certs', 'ca.cert.pem');
    const caKey = path.join(dir, 'certs', 'ca.key.pem');
    const caDer = s.authority.caCertificate.der;
    await s.db.close();

    // 3. OCSP: ours (101,003 serials in its database) vs openssl ocsp -index
    const revoked = [...bulkSerials.slice(0, 50), ...Array.from({ length: 50 }, (_, i) => serialOf(0x42, i))];
    const asked = [...validSerials.slice(0, VALID), ...revoked];
    const utc = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    const exp = utc(new Date(Date.now() + 365 * 86_400_000));
    const revokedAt = utc(new Date());
    const line = (serial: string, revokedReason?: string) =>
      revokedReason ? `R\t${exp}\t${revokedAt},${revokedReason}\t${serial}\tunknown\t/CN=${serial}\n` : `V\t${exp}\t\t${serial}\tunknown\t/CN=${serial}\n`;
    fs.writeFileSync(
      path.join(dir, 'index-full.txt'),
      [...validSerials.map((x) => line(x)), ...bulkSerials.map((x) => line(x, 'cessationOfOperation')), ...Array.from({ length: CRL_ENTRIES - BULK }, (_, i) => line(serialOf(0x42, i), 'keyCompromise'))].join(''),
    );
    // openssl's lookup slows down with the index size (about 70 ms a request at 100,000 entries here),
    // so its main runs get an index of just the serials asked: the peer at its best
    fs.writeFileSync(path.join(dir, 'index.txt'), [...validSerials.slice(0, VALID).map((x) => line(x)), ...revoked.map((x) => line(x, 'keyCompromise'))].join(''));
    const peerCommand = (index: string, port: number, multi?: number) => [
      'ocsp', '-index', index, '-port', String(port), '-rsigner', caPem, '-rkey', caKey, '-CA', caPem, ...(multi ? ['-multi', String(multi)] : []),
    ];
    const ports = { peer: await freePort(), multi: await freePort(), full: await freePort() };
    const peers = [
      { name: 'openssl ocsp', port: ports.peer, args: peerCommand('index.txt', ports.peer) },
      { name: 'openssl ocsp -multi 2', port: ports.multi, args: peerCommand('index.txt', ports.multi, 2) },
      { name: 'openssl, full index', port: ports.full, args: peerCommand('index-full.txt', ports.full) },
    ];
    const requests = (n: number) => Array.from({ length: n }, (_, i) => ocspRequest(caDer, asked[i % asked.length]!));
    for (const p of peers) servers.push(await startServer(p.name, 'openssl', p.args, { PATH: process.env.PATH }, dir, `http://127.0.0.1:${p.port}/`, requests(1)[0]!));
    servers.push(await startServer('scepter', process.execPath, [path.resolve(__dirname, '..', '..', 'src', 'server.js')], env, dir, `http://127.0.0.1:${port}/ocsp`, requests(1)[0]!));
    // Both ways for us; the peer only with a connection per request: `openssl ocsp` serves one
    // connection at a time, so with keep-alive one client holds it and the others wait
    const targets = [
      { name: 'scepter, keep-alive', url: `http://127.0.0.1:${port}/ocsp`, requests: o.requests, keepAlive: true },
      { name: 'scepter', url: `http://127.0.0.1:${port}/ocsp`, requests: o.requests, keepAlive: false },
      ...peers.map((p) => ({ name: p.name, url: `http://127.0.0.1:${p.port}/`, requests: p.port === ports.full ? Math.min(300, o.requests) : o.requests, keepAlive: false })),
    ];
    console.log(`\n3. OCSP, ${o.requests.toLocaleString('en')} requests x ${o.rounds} rounds, ${o.concurrency} in flight, HTTP/1.1 POST from node, one CertID + nonce each`);
    console.log(`   scepter: node dist/src/server.js (delegated RSA-2048 responder, ${(CRL_ENTRIES + 3).toLocaleString('en')} revoked + ${VALID.toLocaleString('en')} valid in SQLite)`);
    for (const p of peers) console.log(`   ${p.name.padEnd(22)} openssl ${p.args.join(' ').replaceAll(dir + '/', '')}`);
    const best: Record<string, Load> = {};
    for (const t of targets) await runLoad(t.url, requests(Math.min(100, t.requests)), o.concurrency, t.keepAlive); // warm-up
    for (let round = 0; round < o.rounds; round++) {
      for (const t of targets) {
        if (round > 0 && t.requests < o.requests) continue; // the slow full-index peer: one short run
        const r = await runLoad(t.url, requests(t.requests), o.concurrency, t.keepAlive);
        console.log(`   round ${round + 1} ${t.name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(6)}/s  p50 ${r.p50.toFixed(1).padStart(5)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  failures ${r.failures}  (${t.requests} requests)`);
        if (!best[t.name] || r.perSecond > best[t.name]!.perSecond) best[t.name] = r;
      }
    }
    const ours = best['scepter']!.perSecond;
    console.log(`   scepter ${ours.toFixed(0)}/s with a connection per request, ${best['scepter, keep-alive']!.perSecond.toFixed(0)}/s over keep-alive (target >= 1,000/s)`);
    for (const p of peers) console.log(`   scepter vs ${p.name.padEnd(22)} ${best[p.name]!.perSecond.toFixed(0).padStart(6)}/s  ratio ${(ours / best[p.name]!.perSecond).toFixed(2)}x (connection per request both)`);
    for (const [name, result] of Object.entries(best)) {
      const file = path.join(dir, 'sample.resp');
      fs.writeFileSync(file, result.sample ?? Buffer.alloc(0));
      const r = spawnSync('openssl', ['ocsp', '-respin', file, '-CAfile', caPem, '-resp_text'], { encoding: 'utf8' });
      const out = `${r.stdout}${r.stderr}`;
      console.log(`   sample answer from ${name.padEnd(22)} ${/Cert Status: (\w+)/.exec(out)?.[1] ?? '?'}, signature ${out.includes('Response verify OK') ? 'verified' : 'NOT verified'}`);
    }
  } finally {
    for (const d of servers) await d.stop();
    removeDir(dir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
