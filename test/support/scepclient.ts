// Drives micromdm's `scepclient` (Debian `scep`). A fresh directory per run matters:
// scepclient silently reuses a csr.pem it finds next to the key.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir, run } from './proc';

export interface ScepclientOptions {
  url: string; // e.g. http://127.0.0.1:PORT/scep
  challenge: string;
  cn: string;
  ou?: string; // scepclient adds OU=MDM unless told otherwise
  // scepclient adds O=scep-client and C=US unless given ''; here they are left out unless asked for,
  // since an integration issues only its template's attributes (as an iOS profile's Subject has them)
  organization?: string;
  country?: string;
  keySize?: number;
  caFingerprint?: string; // SHA-256 hex of the CA certificate
  keyPem?: string; // reuse a key (otherwise scepclient generates one)
  certPem?: string; // the device's current certificate (with keyPem): scepclient signs the request with it, a renewal
  timeoutMs?: number;
  debug?: boolean;
  keepDir?: boolean; // keep the work directory (default: removed after reading it)
}

export interface ScepclientResult {
  ok: boolean; // exit code 0 and a certificate was written
  certPem?: string;
  keyPem: string;
  csrPem?: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  timedOut: boolean;
  dir: string;
}

function readIfExists(file: string): string | undefined {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
}

export async function runScepclient(opts: ScepclientOptions): Promise<ScepclientResult> {
  const dir = makeTempDir('scepter-scepclient', { keep: opts.keepDir });
  try {
    const keyFile = path.join(dir, 'device.key.pem');
    const certFile = path.join(dir, 'device.cert.pem');
    if (opts.keyPem) fs.writeFileSync(keyFile, opts.keyPem, { mode: 0o600 });
    if (opts.certPem) fs.writeFileSync(certFile, opts.certPem);
    const args = ['-server-url', opts.url, '-challenge', opts.challenge, '-private-key', keyFile, '-certificate', certFile, '-cn', opts.cn];
    if (opts.ou !== undefined) args.push('-ou', opts.ou);
    args.push('-organization', opts.organization ?? '', '-country', opts.country ?? '');
    if (opts.keySize !== undefined) args.push('-keySize', String(opts.keySize));
    if (opts.caFingerprint !== undefined) args.push('-ca-fingerprint', opts.caFingerprint);
    if (opts.debug) args.push('-debug');
    const r = await run('scepclient', args, { cwd: dir, timeoutMs: opts.timeoutMs ?? 30_000 });
    const certPem = readIfExists(certFile);
    return {
      ok: r.exitCode === 0 && certPem !== undefined,
      certPem,
      keyPem: readIfExists(keyFile) ?? '',
      csrPem: readIfExists(path.join(dir, 'csr.pem')),
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      dir,
    };
  } finally {
    if (!opts.keepDir) removeDir(dir);
  }
}
