/**
 * A throw-away PKI made with the openssl CLI for the CRL and OCSP tests: a CA (keyCertSign, cRLSign),
 * a delegated OCSP signer (EKU OCSPSigning + id-pkix-ocsp-nocheck), leaves with chosen serials, and
 * an unrelated CA with a leaf of its own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  pem: string; // path
  der: Buffer;
  serialHex: string;
}

export interface RevocationPki {
  dir: string;
  ca: TestCert & { key: KeyObject; keyPath: string };
  ocspSigner: TestCert & { key: KeyObject };
  leaves: Record<'revoked' | 'highBit' | 'good', TestCert>;
  otherCa: TestCert & { key: KeyObject };
  otherLeaf: TestCert;
  cleanup(): void;
}

export function openssl(args: string[], opts: { cwd?: string } = {}): { code: number; out: string } {
  const r = spawnSync('openssl', args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function run(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function load(dir: string, name: string, serialHex: string): TestCert {
  run(dir, ['x509', '-in', `${name}.pem`, '-outform', 'DER', '-out', `${name}.der`]);
  return { pem: join(dir, `${name}.pem`), der: readFileSync(join(dir, `${name}.der`)), serialHex };
}

function makeCa(dir: string, name: string, cn: string): TestCert & { key: KeyObject; keyPath: string } {
  run(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-subj',
    `/C=US/O=Scepter Test/CN=${cn}`,
    '-days',
    '30',
    '-set_serial',
    '1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const keyPath = join(dir, `${name}.key`);
  return { ...load(dir, name, '01'), key: createPrivateKey(readFileSync(keyPath)), keyPath };
}

function issue(dir: string, ca: string, name: string, serialHex: string, ext: string, keyFile = 'leaf.key'): TestCert {
  writeFileSync(join(dir, `${name}.ext`), ext);
  run(dir, ['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  run(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    `0x${serialHex}`,
    '-days',
    '10',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
  return load(dir, name, serialHex);
}

const LEAF_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nauthorityKeyIdentifier=keyid\n';

export function makeRevocationPki(): RevocationPki {
  const dir = mkdtempSync(join(tmpdir(), 'scepter-revocation-'));
  const ca = makeCa(dir, 'ca', 'Revocation Test CA');
  const otherCa = makeCa(dir, 'other-ca', 'Another CA');
  run(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'leaf.key']);
  run(dir, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'ocsp.key']);
  const ocsp = issue(
    dir,
    'ca',
    'ocsp',
    '0100',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n' +
      '1.3.6.1.5.5.7.48.1.5=ASN1:NULL\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    'ocsp.key',
  );
  return {
    dir,
    ca,
    ocspSigner: { ...ocsp, key: createPrivateKey(readFileSync(join(dir, 'ocsp.key'))) },
    leaves: {
      revoked: issue(dir, 'ca', 'leaf-revoked', '1001', LEAF_EXT),
      // High bit set: the INTEGER needs a 0x00 sign byte that serialHex does not show.
      highBit: issue(dir, 'ca', 'leaf-highbit', '8F3A5C7E9B1D2F40', LEAF_EXT),
      good: issue(dir, 'ca', 'leaf-good', '1003', LEAF_EXT),
    },
    otherCa,
    otherLeaf: issue(dir, 'other-ca', 'other-leaf', '1001', LEAF_EXT),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
