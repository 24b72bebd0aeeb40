// Drives strongSwan's `pki --scepca` and `pki --scep` (Debian strongswan-pki, with
// libstrongswan-extra-plugins for the curl fetcher). A strict DER reader: it refuses a CertRep
// whose signed content is not plain DER. Its 5.9.8 build mis-reads AES in GetCACaps, so requests
// use `--cipher des3`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir, run, type RunResult } from './proc';

export interface StrongswanCa {
  dir: string;
  caFile: string;
  /** RA certificates from an RA bundle, told apart by key usage */
  raEncryptionFile?: string;
  raSigningFile?: string;
  output: string;
  ok: boolean;
}

export interface StrongswanEnrollResult {
  ok: boolean;
  certPem?: string;
  output: string;
  exitCode: number | null;
  timedOut: boolean;
}

/** strongSwan prints TPM plugin noise on every start; drop it from what tests show. */
function text(r: RunResult): string {
  return `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => !/tpm|TPM 2\.0/.test(l))
    .join('\n');
}

async function keyUsage(file: string): Promise<string> {
  const r = await run('openssl', ['x509', '-inform', 'DER', '-in', file, '-noout', '-ext', 'keyUsage']);
  return r.stdout;
}

/** `pki --scepca`: fetches the CA certificate (and the RA pair) in DER. */
export async function pkiScepCa(url: string): Promise<StrongswanCa> {
  const dir = makeTempDir('scepter-strongswan');
  const r = await run('pki', ['--scepca', '--url', url, '--caout', 'ca.der', '--raout', 'ra.der', '--force'], { cwd: dir, timeoutMs: 30_000 });
  const caFile = path.join(dir, 'ca.der');
  const ra = fs
    .readdirSync(dir)
    .filter((f) => /^ra(-\d+)?\.der$/.test(f))
    .map((f) => path.join(dir, f));
  let raEncryptionFile: string | undefined;
  let raSigningFile: string | undefined;
  for (const f of ra) {
    if ((await keyUsage(f)).includes('Key Encipherment')) raEncryptionFile = f;
    else raSigningFile = f;
  }
  return { dir, caFile, raEncryptionFile, raSigningFile, output: text(r), ok: r.exitCode === 0 && fs.existsSync(caFile) };
}

/** `pki --scep` with a new RSA key: PKCSReq with `password` as challengePassword. */
export async function pkiScepEnroll(o: { url: string; ca: StrongswanCa; dn: string; password: string; digest?: string }): Promise<StrongswanEnrollResult> {
  const dir = makeTempDir('scepter-strongswan-req');
  try {
    const key = path.join(dir, 'key.pem');
    const gen = await run('pki', ['--gen', '--type', 'rsa', '--size', '2048', '--outform', 'pem'], { timeoutMs: 60_000 });
    if (gen.exitCode !== 0) throw new Error(`pki --gen failed: ${text(gen)}`);
    fs.writeFileSync(key, gen.stdout, { mode: 0o600 });
    return await enroll(o, key, dir);
  } finally {
    removeDir(dir);
  }
}

async function enroll(
  o: { url: string; ca: StrongswanCa; dn: string; password: string; digest?: string },
  key: string,
  dir: string,
): Promise<StrongswanEnrollResult> {
  const args = ['--scep', '--url', o.url, '--in', key, '--dn', o.dn, '--password', o.password, '--cipher', 'des3', '--outform', 'pem'];
  args.push('--cacert-enc', o.ca.raEncryptionFile ?? o.ca.caFile, '--cacert-sig', o.ca.raSigningFile ?? o.ca.caFile);
  if (o.ca.raSigningFile) args.push('--cacert', o.ca.caFile);
  if (o.digest) args.push('--digest', o.digest);
  // never poll: the server answers at once, and a PENDING here would be a failure
  args.push('--maxpolltime', '1', '--interval', '1');
  const r = await run('pki', args, { cwd: dir, timeoutMs: 60_000 });
  const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(r.stdout)?.[0];
  return { ok: r.exitCode === 0 && certPem !== undefined, certPem, output: text(r), exitCode: r.exitCode, timedOut: r.timedOut };
}
