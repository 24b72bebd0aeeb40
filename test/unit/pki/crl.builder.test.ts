import { expect } from 'chai';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildCrl,
  encodeRevokedCertificates,
  parseRevocationReason,
  REVOCATION_REASON_CODES,
  REVOCATION_REASON_NAMES,
  REVOCATION_REASONS,
  revocationReasonFromCode,
  type BuildCrlInput,
  type CrlEntry,
} from '../../../src/pki/crl.builder';
import { derIntegerFromHex, derTime } from '../../../src/pki/der-writer';
import { PkiInputError } from '../../../src/pki/pki.errors';
import { makeRevocationPki, openssl, type RevocationPki } from './revocation-pki.fixture';

const MINUTE = 60_000;

describe('pki/crl.builder', function () {
  this.timeout(60_000);
  let pki: RevocationPki;
  const now = new Date();
  let seq = 0;

  before(() => {
    pki = makeRevocationPki();
  });
  after(() => pki?.cleanup());

  function input(entries: CrlEntry[], extra: Partial<BuildCrlInput> = {}): BuildCrlInput {
    return {
      issuerCertDer: pki.ca.der,
      issuerKey: pki.ca.key,
      crlNumber: 42n,
      thisUpdate: new Date(now.getTime() - MINUTE),
      nextUpdate: new Date(now.getTime() + 24 * 60 * MINUTE),
      entries,
      ...extra,
    };
  }

  /** Writes the CRL as DER and PEM; returns the DER file name (relative to the PKI dir). */
  function save(der: Buffer): { derFile: string; pemFile: string } {
    const base = `crl-${++seq}`;
    writeFileSync(join(pki.dir, `${base}.der`), der);
    const conv = openssl(['crl', '-inform', 'DER', '-in', `${base}.der`, '-out', `${base}.pem`], { cwd: pki.dir });
    expect(conv.code, conv.out).to.equal(0);
    return { derFile: `${base}.der`, pemFile: `${base}.pem` };
  }

  function crlText(derFile: string): string {
    // -CAfile makes openssl check the CRL signature too ("verify OK").
    const r = openssl(['crl', '-inform', 'DER', '-in', derFile, '-text', '-noout', '-CAfile', 'ca.pem'], { cwd: pki.dir });
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.contain('verify OK');
    return r.out;
  }

  function verifyLeaf(pemFile: string, leafPem: string): { code: number; out: string } {
    return openssl(['verify', '-crl_check', '-CRLfile', pemFile, '-CAfile', 'ca.pem', leafPem], { cwd: pki.dir });
  }

  const revokedAt = new Date(now.getTime() - 30_000);

  it('openssl reads a v2 CRL with CRL number, AKI, serials, dates and reasons', async () => {
    const der = await buildCrl(
      input([
        { serialHex: pki.leaves.revoked.serialHex, revokedAt, reason: 'keyCompromise' },
        { serialHex: pki.leaves.highBit.serialHex, revokedAt, reason: 'unspecified' },
      ]),
    );
    const text = crlText(save(der).derFile);
    expect(text).to.contain('Version 2 (0x1)');
    expect(text).to.contain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).to.contain('Issuer: C = US, O = Scepter Test, CN = Revocation Test CA');
    expect(text).to.match(/X509v3 CRL Number: \n\s+42\n/);
    const ski = /X509v3 Subject Key Identifier: \n\s+([0-9A-F:]+)/.exec(openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], { cwd: pki.dir }).out)![1]!;
    expect(text).to.match(new RegExp(`X509v3 Authority Key Identifier: \\n\\s+(keyid:)?${ski}\\n`));
    expect(text).to.match(/Serial Number: 1001\n\s+Revocation Date: .*GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: \n\s+Key Compromise/);
    // The high-bit serial comes out unsigned, and "unspecified" carries no reason extension.
    expect(text).to.match(/Serial Number: 8F3A5C7E9B1D2F40\n\s+Revocation Date: .*GMT\n\s+Signature Algorithm/);
  });

  it('openssl verify -crl_check: revoked leaves are refused, the others pass', async () => {
    const der = await buildCrl(
      input([
        { serialHex: pki.leaves.revoked.serialHex, revokedAt, reason: 'keyCompromise' },
        { serialHex: pki.leaves.highBit.serialHex, revokedAt, reason: 'superseded' },
      ]),
    );
    const { pemFile } = save(der);
    for (const leaf of [pki.leaves.revoked, pki.leaves.highBit]) {
      const r = verifyLeaf(pemFile, leaf.pem);
      expect(r.code, r.out).to.not.equal(0);
      expect(r.out).to.contain('certificate revoked');
    }
    const ok = verifyLeaf(pemFile, pki.leaves.good.pem);
    expect(ok.code, ok.out).to.equal(0);
    expect(ok.out).to.contain(': OK');
  });

  it('an empty CRL has no revokedCertificates field and lets every leaf pass', async () => {
    const der = await buildCrl(input([]));
    const { derFile, pemFile } = save(der);
    expect(crlText(derFile)).to.contain('No Revoked Certificates.');
    const r = verifyLeaf(pemFile, pki.leaves.revoked.pem);
    expect(r.code, r.out).to.equal(0);
  });

  it('encodes every RFC 5280 reason as openssl names it', async () => {
    const expected: Record<string, string> = {
      keyCompromise: 'Key Compromise',
      cACompromise: 'CA Compromise',
      affiliationChanged: 'Affiliation Changed',
      superseded: 'Superseded',
      cessationOfOperation: 'Cessation Of Operation',
      certificateHold: 'Certificate Hold',
      removeFromCRL: 'Remove From CRL',
      privilegeWithdrawn: 'Privilege Withdrawn',
      aACompromise: 'AA Compromise',
    };
    const entries = Object.keys(expected).map((reason, i) => ({
      serialHex: (0x2000 + i).toString(16).toUpperCase(),
      revokedAt,
      reason: reason as CrlEntry['reason'],
    }));
    const text = crlText(save(await buildCrl(input(entries))).derFile);
    entries.forEach((e) => {
      expect(text).to.match(new RegExp(`Serial Number: ${e.serialHex}\\n[^\\n]+\\n[^\\n]+\\n[^\\n]+\\n\\s+${expected[e.reason]}\\n`));
    });
  });

  it('writes UTCTime up to 2049 and GeneralizedTime from 2050 (RFC 5280 5.1.2.4)', async () => {
    expect(derTime(new Date('2049-12-31T23:59:59.999Z')).toString('latin1')).to.equal('\x17\x0d491231235959Z');
    expect(derTime(new Date('2050-01-01T00:00:00Z')).toString('latin1')).to.equal('\x18\x0f20500101000000Z');
    const der = await buildCrl(input([], { nextUpdate: new Date('2051-06-01T12:00:00Z') }));
    expect(crlText(save(der).derFile)).to.contain('Next Update: Jun  1 12:00:00 2051 GMT');
  });

  it('encodes serials as positive INTEGERs, whatever the hex looks like', () => {
    expect(derIntegerFromHex('01').toString('hex')).to.equal('020101');
    expect(derIntegerFromHex('8F').toString('hex')).to.equal('0202008f');
    expect(derIntegerFromHex('008f').toString('hex')).to.equal('0202008f');
    expect(derIntegerFromHex('8f:3a').toString('hex')).to.equal('0203008f3a');
    expect(derIntegerFromHex('abc').toString('hex')).to.equal('02020abc');
    expect(derIntegerFromHex('0000').toString('hex')).to.equal('020100');
    expect(() => derIntegerFromHex('xyz')).to.throw(RangeError);
    expect(() => derIntegerFromHex('')).to.throw(RangeError);
  });

  it('carries a 20-octet CRL number', async () => {
    const big = (1n << 158n) + 12345n;
    const text = crlText(save(await buildCrl(input([], { crlNumber: big }))).derFile);
    expect(text).to.match(new RegExp(`X509v3 CRL Number: \\n\\s+0x${big.toString(16).toUpperCase()}\\n`));
  });

  it('refuses bad input with a RangeError', async () => {
    const entry = { serialHex: '10', revokedAt, reason: 'superseded' as const };
    for (const bad of [
      input([], { nextUpdate: new Date(now.getTime() - 2 * MINUTE) }),
      input([], { crlNumber: -1n }),
      input([], { crlNumber: 1n << 160n }),
      input([{ ...entry, serialHex: 'not-hex' }]),
      input([{ ...entry, revokedAt: new Date('invalid') }]),
    ]) {
      let error: unknown;
      await buildCrl(bad).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(RangeError);
    }
  });

  it('signs with an EC issuer key too (ecdsa-with-SHA256)', async () => {
    const r = openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'ec-ca.key',
        '-out',
        'ec-ca.pem',
        '-subj',
        '/CN=EC CA',
        '-days',
        '2',
        '-outform',
        'PEM',
      ],
      { cwd: pki.dir },
    );
    expect(r.code, r.out).to.equal(0);
    expect(openssl(['x509', '-in', 'ec-ca.pem', '-outform', 'DER', '-out', 'ec-ca.der'], { cwd: pki.dir }).code).to.equal(0);
    const certDer = readFileSync(join(pki.dir, 'ec-ca.der'));
    const key = createPrivateKey(readFileSync(join(pki.dir, 'ec-ca.key')));
    const der = await buildCrl(input([{ serialHex: '05', revokedAt, reason: 'cessationOfOperation' }], { issuerCertDer: certDer, issuerKey: key }));
    writeFileSync(join(pki.dir, 'ec.crl'), der);
    const out = openssl(['crl', '-inform', 'DER', '-in', 'ec.crl', '-noout', '-text', '-CAfile', 'ec-ca.pem'], { cwd: pki.dir }).out;
    expect(out).to.contain('verify OK');
    expect(out).to.contain('ecdsa-with-SHA256');
    // An RSA-PSS or Ed25519 key is not supported: a clear error, not a bad CRL.
    const ed = generateKeyPairSync('ed25519').privateKey;
    let error: unknown;
    await buildCrl(input([], { issuerKey: ed })).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(RangeError);
  });

  it('builds and openssl parses a CRL of 100,000 entries', async () => {
    const entries: CrlEntry[] = [];
    for (let i = 0; i < 100_000; i++) {
      entries.push({
        serialHex: (0x7a000000n * 0x100000000n + BigInt(i) * 0x9e3779b1n).toString(16).toUpperCase(),
        revokedAt: new Date(now.getTime() - 1000 * (i % 5000)),
        reason: REVOCATION_REASONS[i % REVOCATION_REASONS.length]!,
      });
    }
    const der = await buildCrl(input(entries));
    const text = crlText(save(der).derFile);
    expect(text.match(/Serial Number: /g)).to.have.length(100_000);
    expect(text).to.contain(`Serial Number: ${entries[99_999]!.serialHex}\n`);
  });

  it('encodeRevokedCertificates is absent for no entries', () => {
    expect(encodeRevokedCertificates([])).to.equal(undefined);
  });
});

describe('pki/revocation-reason', () => {
  it('maps names and codes both ways (code 7 unassigned)', () => {
    expect(REVOCATION_REASON_CODES.keyCompromise).to.equal(1);
    expect(REVOCATION_REASON_CODES.removeFromCRL).to.equal(8);
    expect(REVOCATION_REASON_CODES.aACompromise).to.equal(10);
    for (const name of REVOCATION_REASONS) expect(REVOCATION_REASON_NAMES.get(REVOCATION_REASON_CODES[name])).to.equal(name);
    expect(REVOCATION_REASONS).to.have.length(10);
    expect(revocationReasonFromCode(7)).to.equal(undefined);
  });

  it('parses user input case-insensitively, with separators or as a code', () => {
    expect(parseRevocationReason('keyCompromise')).to.equal('keyCompromise');
    expect(parseRevocationReason('KEYCOMPROMISE')).to.equal('keyCompromise');
    expect(parseRevocationReason(' key-compromise ')).to.equal('keyCompromise');
    expect(parseRevocationReason('cessation_of_operation')).to.equal('cessationOfOperation');
    expect(parseRevocationReason('cacompromise')).to.equal('cACompromise');
    expect(parseRevocationReason('AACompromise')).to.equal('aACompromise');
    expect(parseRevocationReason('4')).to.equal('superseded');
    expect(parseRevocationReason('0')).to.equal('unspecified');
  });

  it('refuses unknown reasons with a PkiInputError that lists the names', () => {
    for (const bad of ['', 'compromised', '7', '11', 'toString', '__proto__', 'constructor']) {
      expect(() => parseRevocationReason(bad), bad).to.throw(PkiInputError, /expected one of unspecified, keyCompromise/);
    }
  });
});
