// Helpers for the revocation tests. openssl runs asynchronously here: the server under test lives
// in this process, and a synchronous child process would block the event loop it answers on.
import fs from 'node:fs';
import path from 'node:path';
import { KeyObject } from 'node:crypto';
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { pemEncode } from '../../src/pki/der';
import { ParsedCertificate } from '../../src/pki/certificate';
import { PkiStatus } from '../../src/scep/scep.types';
import { ScepClient } from '../../src/scep/client/scep-client';
import { Actor } from '../../src/admin/audit.types';
import { makeTempDir } from '../support/proc';
import { TestServer, TEST_CHALLENGE } from '../support/test-server';

export const TEST_ACTOR: Actor = { who: 'test', from: 'test' };

/** Never rejects: tests assert on the exit code and the text. stdin is closed (support/proc's run() can hit EPIPE). */
export function ossl(args: string[], cwd?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { cwd, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
    child.stdin?.end();
  });
}

export interface Issued {
  cert: ParsedCertificate;
  key: KeyObject;
  /** PEM file of the certificate */
  pem: string;
}

/** A scratch directory for PEM files, removed at process exit. */
export function scratch(): { dir: string; file(name: string, content?: string | Buffer): string } {
  const dir = makeTempDir('scepter-revocation');
  return {
    dir,
    file(name, content) {
      const p = path.join(dir, name);
      if (content !== undefined) fs.writeFileSync(p, content);
      return p;
    },
  };
}

export function writeCertPem(dir: string, name: string, der: Buffer): string {
  const p = path.join(dir, `${name}.pem`);
  fs.writeFileSync(p, pemEncode('CERTIFICATE', der));
  return p;
}

/** Enrolls through the default `/scep` endpoint (static challenge). */
export async function issue(server: TestServer, dir: string, cn: string, key?: KeyObject): Promise<Issued> {
  const cas = await server.client.getCaCertificates();
  const r = await server.client.enroll({ cas, subject: [{ type: 'CN', value: cn }], challenge: TEST_CHALLENGE, key });
  expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
  return { cert: r.certificate!, key: r.key, pem: writeCertPem(dir, cn, r.certificate!.der) };
}

/** An ios-certs integration (created like `scepter integration create --type ios-certs --allow-legacy`). */
export async function createCertIntegration(server: TestServer, name: string): Promise<string> {
  const v = await server.app.services.integrations.create({ type: 'ios-certs', name, allowLegacy: true }, TEST_ACTOR);
  return v.id;
}

/** Enrolls a device through its integration's `/scep/<id>` endpoint with a fresh one-time challenge. */
export async function issueForDevice(server: TestServer, dir: string, integrationId: string, udid: string): Promise<Issued> {
  const { challenge } = await server.app.services.challenges.mint(integrationId);
  const client = new ScepClient(`${server.url}/scep/${integrationId}`);
  const cas = await client.getCaCertificates();
  const r = await client.enroll({
    cas,
    subject: [
      { type: 'OU', value: integrationId },
      { type: 'CN', value: udid },
    ],
    challenge,
  });
  expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
  return { cert: r.certificate!, key: r.key, pem: writeCertPem(dir, `${integrationId}-${udid}-${r.certificate!.serialHex}`, r.certificate!.der) };
}

export async function fetchCrl(server: Pick<TestServer, 'url'>): Promise<Buffer> {
  const res = await fetch(`${server.url}/crl/ca.crl`);
  expect(res.status).to.equal(200);
  return Buffer.from(await res.arrayBuffer());
}

/** `openssl crl -text`, with the signature checked against the CA. */
export async function crlText(server: Pick<TestServer, 'caPemFile'>, dir: string, der: Buffer): Promise<string> {
  const file = path.join(dir, `crl-${Date.now()}-${Math.random().toString(16).slice(2)}.der`);
  fs.writeFileSync(file, der);
  const r = await ossl(['crl', '-inform', 'DER', '-in', file, '-text', '-noout', '-CAfile', server.caPemFile]);
  expect(r.code, r.out).to.equal(0);
  expect(r.out).to.contain('verify OK');
  return r.out;
}

/** `openssl ocsp` against the server: `-issuer ca -cert leaf -url .../ocsp -CAfile ca` (with a nonce). */
export async function ocspQuery(
  server: Pick<TestServer, 'url' | 'caPemFile'>,
  certPems: string[],
  extra: string[] = [],
): Promise<{ code: number | null; out: string }> {
  const args = ['ocsp', '-issuer', server.caPemFile];
  for (const c of certPems) args.push('-cert', c);
  return ossl([...args, '-url', `${server.url}/ocsp`, '-CAfile', server.caPemFile, ...extra]);
}

/** Polls `check` every 50 ms; returns the elapsed milliseconds when it holds. */
export async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
