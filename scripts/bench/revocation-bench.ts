/**
 * Revocation at scale, with a peer measured in the same run where one exists:
 *   1. revoking all 50,000 certificates of one integration (one set-based UPDATE; target <= 10 s);
 *   2. the CRL with 100,000 revoked entries: loading them, building + signing, and the whole
 *      republication after one more revocation (target <= 2 s);
 *   3. OCSP throughput of our server (node dist/src/server.js, its own process) against
 *      `openssl ocsp -index index.txt -port P -rsigner ca.pem -rkey ca.key -CA ca.pem` on the same CA,
 *      the same 101,000 serials and the same requests (one CertID and a fresh nonce each, as openssl
 *      clients send), at the same concurrency over keep-alive HTTP (target >= 1,000/s for ours).
 *
 *   npm run bench:revocation -- [--requests N] [--concurrency C] [--rounds R]
 *   SCEPTER_OCSP_KEY=ec npm run bench:revocation     (our responder with an ECDSA P-256 key)
 *   (= npx tsc -p . && node dist/scripts/bench/revocation-bench.js ...)
 */
import path from 'node:path';
import fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { loadConfig } from '../../src/config/config';
import { buildServices, Services } from '../../src/main';
import { transactionOf } from '../../src/db/transaction';
import { RevocationRepository } from '../../src/db/revocation.repository';
import { buildCrl } from '../../src/pki/crl.builder';
import { freePort } from '../../test/support/ports';
import { makeTempDir, removeDir } from '../../test/support/proc';
import { Load, ocspRequest, runLoad, Server, startServer } from './revocation-load';

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
          serial,
          subject: `CN=bench-${i + j}`,
          fingerprintSha256: serial.padEnd(64, '0'),
          publicKeyHash: serial.padEnd(64, '0'),
          notBefore: now,
          notAfter,
          der: Buffer.from([0x30, 0x00]),
          transactionId: null,
          endpointId: 'bench',
          integrationId,
          deviceId: integrationId ? `UDID-${i + j}` : null,
          status: 'valid',
          createdAt: now,
        })),
      );
    }
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = makeTempDir('scepter-revocation-bench');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SCEPTER_OCSP_KEY: process.env.SCEPTER_OCSP_KEY ?? 'rsa', // ec: the P-256 responder
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
    const bulk = await timed(() =>
      s.db.transaction((m) => s.revocation.revokeAllForIntegration(transactionOf(m), 'DI-BENCH-1', 'cessationOfOperation', new Date())),
    );
    console.log(`\n1. revokeAllForIntegration, ${BULK.toLocaleString('en')} certificates in one transaction`);
    console.log(`   ${fmt(bulk.ms)}  (${bulk.value.toLocaleString('en')} revoked; target <= 10,000 ms)`);

    // 2. the CRL with 100,000 entries
    await insertCertificates(
      s,
      Array.from({ length: CRL_ENTRIES - BULK }, (_, i) => serialOf(0x42, i)),
      'DI-BENCH-2',
    );
    await s.db.transaction((m) => s.revocation.revokeAllForIntegration(transactionOf(m), 'DI-BENCH-2', 'keyCompromise', new Date()));
    const validSerials = Array.from({ length: VALID + 3 }, (_, i) => serialOf(0x43, i));
    await insertCertificates(s, validSerials, null);
    await s.revocationView.sync();
    console.log(`\n2. CRL with ${CRL_ENTRIES.toLocaleString('en')} revoked entries (best of 3)`);
    const store = s.revocationView.publisher;
    let load = Infinity;
    let build = Infinity;
    let republish: number[] = [];
    let catchUp = Infinity;
    let catchUpRows = 0;
    let size = 0;
    for (let run = 0; run < 3; run++) {
      const { ms, value } = await timed(() => new RevocationRepository(s.db).loadRevoked());
      load = Math.min(load, ms);
      const now = new Date();
      const b = await timed(() =>
        buildCrl({
          issuerCertDer: s.authority.caCertificate.der,
          issuerKey: s.authority.ca.key,
          crlNumber: 1n,
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + 86_400_000),
          entries: value.entries,
        }),
      );
      build = Math.min(build, b.ms);
      size = b.value.length;
      // revoke one more certificate: the call returns once the new CRL is signed and stored
      const since = s.revocationView.revisionSeen;
      const r = await timed(() => s.revocation.revoke(validSerials[VALID + run]!, { reason: 'keyCompromise', actor: ACTOR }));
      republish.push(r.ms);
      // what every other instance reads to catch up with that revocation (the rows since its revision)
      const c = await timed(() => new RevocationRepository(s.db).loadRevoked(since));
      catchUp = Math.min(catchUp, c.ms);
      catchUpRows = c.value.entries.length;
    }
    republish = republish.sort((a, b) => a - b);
    console.log(`   load from SQLite      ${fmt(load)}`);
    console.log(`   build + sign          ${fmt(build)}  (${(size / 1e6).toFixed(1)} MB DER)`);
    console.log(
      `   revoke one + republish ${fmt(republish[0]!)} best, ${fmt(republish[2]!)} worst  (CRL number ${store.current!.crlNumber}; target <= 2,000 ms)`,
    );
    console.log(`   other instances catch up ${fmt(catchUp)}  (${catchUpRows} row read, instead of the full load above)`);
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
    // the same 101,003 serials and states as our database
    fs.writeFileSync(
      path.join(dir, 'index.txt'),
      [
        ...validSerials.map((x) => line(x)),
        ...bulkSerials.map((x) => line(x, 'cessationOfOperation')),
        ...Array.from({ length: CRL_ENTRIES - BULK }, (_, i) => line(serialOf(0x42, i), 'keyCompromise')),
      ].join(''),
    );
    const peerCommand = (index: string, port: number, multi?: number) => [
      'ocsp',
      '-index',
      index,
      '-port',
      String(port),
      '-rsigner',
      caPem,
      '-rkey',
      caKey,
      '-CA',
      caPem,
      ...(multi ? ['-multi', String(multi)] : []),
    ];
    const ports = { peer: await freePort(), multi: await freePort() };
    const peers = [
      { name: 'openssl ocsp', port: ports.peer, args: peerCommand('index.txt', ports.peer) },
      // the same with a process per core, as our server uses both cores
      { name: 'openssl ocsp -multi 2', port: ports.multi, args: peerCommand('index.txt', ports.multi, 2) },
    ];
    const requests = (n: number) => Array.from({ length: n }, (_, i) => ocspRequest(caDer, asked[i % asked.length]!));
    for (const p of peers)
      servers.push(await startServer(p.name, 'openssl', p.args, { PATH: process.env.PATH }, dir, `http://127.0.0.1:${p.port}/`, requests(1)[0]!));
    servers.push(
      await startServer(
        'scepter',
        process.execPath,
        [path.resolve(__dirname, '..', '..', 'src', 'server.js')],
        env,
        dir,
        `http://127.0.0.1:${port}/ocsp`,
        requests(1)[0]!,
      ),
    );
    // Both ways for us; the peer only with a connection per request: `openssl ocsp` serves one
    // connection at a time, so with keep-alive one client holds it and the others wait
    const targets = [
      { name: 'scepter, keep-alive', url: `http://127.0.0.1:${port}/ocsp`, requests: o.requests, keepAlive: true },
      { name: 'scepter', url: `http://127.0.0.1:${port}/ocsp`, requests: o.requests, keepAlive: false },
      ...peers.map((p) => ({ name: p.name, url: `http://127.0.0.1:${p.port}/`, requests: o.requests, keepAlive: false })),
    ];
    console.log(
      `\n3. OCSP, ${o.requests.toLocaleString('en')} requests x ${o.rounds} rounds, ${o.concurrency} in flight, HTTP/1.1 POST from node, one CertID + nonce each`,
    );
    console.log(
      `   scepter: node dist/src/server.js (delegated ${env.SCEPTER_OCSP_KEY === 'ec' ? 'ECDSA P-256' : 'RSA-2048'} responder, ${(CRL_ENTRIES + 3).toLocaleString('en')} revoked + ${VALID.toLocaleString('en')} valid in SQLite)`,
    );
    for (const p of peers) console.log(`   ${p.name.padEnd(22)} openssl ${p.args.join(' ').replaceAll(dir + '/', '')}`);
    const best: Record<string, Load> = {};
    // warm-up: every serial asked once, so that each server has seen (and cached) them all
    for (const t of targets) await runLoad(t.url, requests(asked.length), o.concurrency, t.keepAlive);
    for (let round = 0; round < o.rounds; round++) {
      for (const t of targets) {
        const r = await runLoad(t.url, requests(t.requests), o.concurrency, t.keepAlive);
        console.log(
          `   round ${round + 1} ${t.name.padEnd(22)} ${r.perSecond.toFixed(0).padStart(6)}/s  p50 ${r.p50.toFixed(1).padStart(5)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  failures ${r.failures}  (${t.requests} requests)`,
        );
        if (!best[t.name] || r.perSecond > best[t.name]!.perSecond) best[t.name] = r;
      }
    }
    const ours = best['scepter']!.perSecond;
    console.log(
      `   scepter ${ours.toFixed(0)}/s with a connection per request, ${best['scepter, keep-alive']!.perSecond.toFixed(0)}/s over keep-alive (target >= 1,000/s)`,
    );
    for (const p of peers)
      console.log(
        `   scepter vs ${p.name.padEnd(22)} ${best[p.name]!.perSecond.toFixed(0).padStart(6)}/s  ratio ${(ours / best[p.name]!.perSecond).toFixed(2)}x (connection per request both)`,
      );
    for (const [name, result] of Object.entries(best)) {
      const file = path.join(dir, 'sample.resp');
      fs.writeFileSync(file, result.sample ?? Buffer.alloc(0));
      const r = spawnSync('openssl', ['ocsp', '-respin', file, '-CAfile', caPem, '-resp_text'], { encoding: 'utf8' });
      const out = `${r.stdout}${r.stderr}`;
      console.log(
        `   sample answer from ${name.padEnd(22)} ${/Cert Status: (\w+)/.exec(out)?.[1] ?? '?'}, signature ${out.includes('Response verify OK') ? 'verified' : 'NOT verified'}`,
      );
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
