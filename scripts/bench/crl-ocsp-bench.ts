/**
 * CRL and OCSP building speed, each against a peer measured in the same run (these machines are
 * shared and noisy, so ratios matter more than absolute figures):
 *   - CRL of 100,000 entries: ours vs `openssl ca -gencrl` over the same entries, and vs encoding the
 *     same list with one pkijs object per entry (the approach crl.builder.ts avoids).
 *   - 2,000 OCSP responses, sequential and 8 in flight: ours vs bare RSA signatures of the same size
 *     (the floor: what is left is codec overhead).
 * Run: npx tsc -p . && node dist/scripts/bench/crl-ocsp-bench.js [entries]
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildCrl, REVOCATION_REASONS, revocationReasonCode, type CrlEntry } from '../../src/pki/crl.builder';
import { buildOcspResponse, parseOcspRequest } from '../../src/pki/ocsp.codec';
import { signAsync } from '../../src/pki/sign';

const ENTRIES = Number(process.argv[2] ?? 100_000);
const OCSP_BUILDS = 2_000;

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

async function bestOf<T>(runs: number, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  let best: { ms: number; value: T } | undefined;
  for (let i = 0; i < runs; i++) {
    const r = await timed(fn);
    if (!best || r.ms < best.ms) best = r;
  }
  return best!;
}

/** Runs `task` `total` times with at most `inFlight` pending at once. */
async function pool(total: number, inFlight: number, task: () => Promise<unknown>): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

const fmt = (ms: number): string => `${ms.toFixed(0).padStart(6)} ms`;

function pkijsRevokedList(entries: CrlEntry[]): ArrayBuffer {
  const list = entries.map(
    (e) =>
      new pkijs.RevokedCertificate({
        userCertificate: new asn1js.Integer({ valueHex: Buffer.from(e.serialHex, 'hex') }),
        revocationDate: new pkijs.Time({ type: 0, value: e.revokedAt }),
        crlEntryExtensions:
          e.reason === 'unspecified'
            ? undefined
            : new pkijs.Extensions({
                extensions: [
                  new pkijs.Extension({
                    extnID: '2.5.29.21',
                    extnValue: new asn1js.Enumerated({ value: revocationReasonCode(e.reason) }).toBER(false),
                  }),
                ],
              }),
      }),
  );
  return new asn1js.Sequence({ value: list.map((r) => r.toSchema()) }).toBER(false);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'scepter-crl-bench-'));
  try {
    const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    sh([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-subj',
      '/CN=Bench CA',
      '-days',
      '30',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    sh(['x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der']);
    const caDer = readFileSync(join(dir, 'ca.der'));
    const caKey = createPrivateKey(readFileSync(join(dir, 'ca.key')));
    const now = new Date();

    const entries: CrlEntry[] = Array.from({ length: ENTRIES }, (_, i) => ({
      serialHex: (0x5c000000_00000000n + BigInt(i) * 0x9e3779b97fn).toString(16).toUpperCase(),
      revokedAt: new Date(now.getTime() - 1000 * (i % 86_400)),
      reason: REVOCATION_REASONS[i % REVOCATION_REASONS.length]!,
    }));
    const crlInput = {
      issuerCertDer: caDer,
      issuerKey: caKey,
      crlNumber: 1n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 86_400_000),
      entries,
    };

    console.log(`CRL, ${ENTRIES.toLocaleString('en')} entries (best of 5)`);
    await buildCrl(crlInput); // warm-up
    const ours = await bestOf(5, () => buildCrl(crlInput));
    console.log(`  scepter buildCrl        ${fmt(ours.ms)}  ${(ours.value.length / 1e6).toFixed(1)} MB`);

    // openssl ca -gencrl over an index.txt with the same revocations.
    // openssl ca knows neither privilegeWithdrawn nor aACompromise; any reason costs the same.
    const opensslReason = (r: string): string => (r === 'privilegeWithdrawn' || r === 'aACompromise' ? 'superseded' : r);
    const utc = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    const index = entries
      .map(
        (e, i) =>
          `R\t${utc(new Date(now.getTime() + 864e6))}\t${utc(e.revokedAt)}${e.reason === 'unspecified' ? '' : ',' + opensslReason(e.reason)}\t${e.serialHex}\tunknown\t/CN=d${i}\n`,
      )
      .join('');
    writeFileSync(join(dir, 'index.txt'), index);
    writeFileSync(join(dir, 'crlnumber'), '01\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca=d',
        '[d]',
        'database=index.txt',
        'crlnumber=crlnumber',
        'default_md=sha256',
        'default_crl_days=1',
        'certificate=ca.pem',
        'private_key=ca.key',
        'unique_subject=no',
        'crl_extensions=ext',
        '[ext]',
        'authorityKeyIdentifier=keyid:always',
        '',
      ].join('\n'),
    );
    const peer = await bestOf(3, () => sh(['ca', '-gencrl', '-config', 'ca.cnf', '-out', 'peer.crl']));
    console.log(`  openssl ca -gencrl      ${fmt(peer.ms)}  (process, reads index.txt)  ratio ${(peer.ms / ours.ms).toFixed(2)}x`);
    // One pkijs object per entry takes seconds per 10,000 entries: measure a tenth, scale linearly.
    const part = Math.max(1, Math.floor(ENTRIES / 10));
    const pk = await timed(() => pkijsRevokedList(entries.slice(0, part)));
    const pkMs = (pk.ms * ENTRIES) / part;
    console.log(`  pkijs list encode only  ${fmt(pkMs)}  (no signature, ${part} measured) ratio ${(pkMs / ours.ms).toFixed(2)}x`);

    // OCSP: one CertID per response, as a relying party asks.
    sh(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-subj', '/CN=leaf', '-out', 'leaf.csr']);
    sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1234', '-days', '2', '-out', 'leaf.pem']);
    sh(['ocsp', '-issuer', 'ca.pem', '-cert', 'leaf.pem', '-reqout', 'req.der']);
    const reqDer = readFileSync(join(dir, 'req.der'));
    const build = (): Promise<Buffer> => {
      const req = parseOcspRequest(reqDer);
      return buildOcspResponse({
        responderCertDer: caDer,
        responderKey: caKey,
        issuerCertDer: caDer,
        producedAt: new Date(),
        nonce: req.nonce,
        responses: [{ certId: req.requests[0]!, status: { revokedAt: now, reason: 'keyCompromise' }, thisUpdate: new Date() }],
      });
    };
    const sample = await build();
    const tbsLike = sample.subarray(0, 200); // a to-be-signed of about the same size
    const rawSign = (): Promise<Buffer> => signAsync('sha256', tbsLike, caKey);
    await pool(200, 8, build);
    await pool(200, 8, rawSign);

    console.log(`OCSP, ${OCSP_BUILDS.toLocaleString('en')} responses (parse request + build + sign), RSA-2048`);
    for (const inFlight of [1, 8]) {
      const o = await bestOf(2, () => pool(OCSP_BUILDS, inFlight, build));
      const s = await bestOf(2, () => pool(OCSP_BUILDS, inFlight, rawSign));
      const rate = (ms: number): string =>
        `${Math.round((OCSP_BUILDS * 1000) / ms)
          .toString()
          .padStart(5)}/s`;
      console.log(
        `  ${inFlight} in flight: scepter ${fmt(o.ms)} ${rate(o.ms)} | bare signatures ${fmt(s.ms)} ${rate(s.ms)} | ratio ${(o.ms / s.ms).toFixed(2)}x`,
      );
    }
    const parse = await bestOf(3, () => {
      for (let i = 0; i < OCSP_BUILDS; i++) parseOcspRequest(reqDer);
    });
    console.log(`  parseOcspRequest alone: ${((parse.ms * 1000) / OCSP_BUILDS).toFixed(1)} µs per request`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
