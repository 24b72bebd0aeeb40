// Thin, synchronous openssl(1) wrappers for assertions in tests: an independent
// implementation checks what our pki code produced (chains, key usage, key size).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, removeDir } from './proc';

export interface VerifyResult {
  ok: boolean;
  output: string;
}

// `openssl verify` with only the given CA as trust anchor (no system store).
export function verifyChain(caPem: string, certPem: string, opts: { untrustedPem?: string; purpose?: string } = {}): VerifyResult {
  const dir = makeTempDir('scepter-verify');
  try {
    const ca = path.join(dir, 'ca.pem');
    const cert = path.join(dir, 'cert.pem');
    fs.writeFileSync(ca, caPem);
    fs.writeFileSync(cert, certPem);
    const args = ['verify', '-no-CApath', '-no-CAstore', '-CAfile', ca];
    if (opts.untrustedPem) {
      const untrusted = path.join(dir, 'untrusted.pem');
      fs.writeFileSync(untrusted, opts.untrustedPem);
      args.push('-untrusted', untrusted);
    }
    if (opts.purpose) args.push('-purpose', opts.purpose);
    args.push(cert);
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    removeDir(dir);
  }
}

export function x509Text(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem, encoding: 'utf8' });
}

// Accept either PEM or already-rendered `-text` output.
function asText(certPemOrText: string): string {
  return certPemOrText.includes('-----BEGIN') ? x509Text(certPemOrText) : certPemOrText;
}

// Value lines of an X509v3 extension block, e.g. "Digital Signature, Key Encipherment".
function extension(text: string, name: string): { critical: boolean; value: string } | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`${name}:`) || l.trim() === `${name}: critical`);
  const header = lines[i];
  if (header === undefined) return undefined;
  const critical = /critical\s*$/.test(header);
  const indent = header.search(/\S/);
  const value: string[] = [];
  for (const line of lines.slice(i + 1)) {
    if (line.search(/\S/) <= indent) break;
    value.push(line.trim());
  }
  return { critical, value: value.join(' ') };
}

function list(value: string | undefined): string[] {
  return value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/** e.g. ['Digital Signature', 'Key Encipherment']; [] when absent. */
export function keyUsage(certPemOrText: string): string[] {
  return list(extension(asText(certPemOrText), 'X509v3 Key Usage')?.value);
}

export function keyUsageCritical(certPemOrText: string): boolean {
  return extension(asText(certPemOrText), 'X509v3 Key Usage')?.critical ?? false;
}

/** e.g. ['TLS Web Client Authentication']; [] when absent. */
export function eku(certPemOrText: string): string[] {
  return list(extension(asText(certPemOrText), 'X509v3 Extended Key Usage')?.value);
}

export function basicConstraints(certPemOrText: string): { critical: boolean; ca: boolean } | undefined {
  const ext = extension(asText(certPemOrText), 'X509v3 Basic Constraints');
  return ext && { critical: ext.critical, ca: /CA:TRUE/.test(ext.value) };
}

export function keyBits(certPemOrText: string): number {
  const m = /Public-Key: \((\d+) bit\)/.exec(asText(certPemOrText));
  if (!m) throw new Error('no public key size in certificate text');
  return Number(m[1]);
}

export function subject(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: certPem, encoding: 'utf8' })
    .replace(/^subject=/, '')
    .trim();
}

export function signatureAlgorithm(certPemOrText: string): string {
  const algorithm = /Signature Algorithm: (\S+)/.exec(asText(certPemOrText))?.[1];
  if (algorithm === undefined) throw new Error('no signature algorithm in certificate text');
  return algorithm;
}

/** SHA-256 fingerprint as lowercase hex without colons (scepclient's -ca-fingerprint format). */
export function sha256Fingerprint(certPem: string): string {
  const out = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: certPem, encoding: 'utf8' });
  const hex = out.split('=')[1];
  if (hex === undefined) throw new Error(`unexpected openssl fingerprint output: ${out}`);
  return hex.replace(/:/g, '').trim().toLowerCase();
}
