// Proves the real-client helpers in test/support work, against micromdm's scepserver (a
// real CA) and against the capture server. No Scepter code is involved here.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCaptureServer, type CaptureServer } from '../../scripts/capture/capture-scep';
import { startCertmonger, type Certmonger } from '../support/certmonger';
import { fixturePath, readFixtureText } from '../support/fixtures';
import * as openssl from '../support/openssl';
import { makeTempDir, removeDir, run } from '../support/proc';
import { runScepclient } from '../support/scepclient';
import { startScepserver, type Scepserver } from '../support/scepserver';
import { single } from '../support/items';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Inner PKCSReq envelope -> CSR text, with openssl and the fixture CA/RA key.
async function decryptCsr(derFile: string, recipient: 'ca' | 'ra-encrypt'): Promise<string> {
  const dir = makeTempDir('scepter-decrypt');
  try {
    const env = path.join(dir, 'env.der');
    const csr = path.join(dir, 'csr.der');
    const v = await run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', derFile, '-noverify', '-binary', '-out', env]);
    expect(v.exitCode, v.stderr).to.equal(0);
    const d = await run('openssl', [
      'cms',
      '-decrypt',
      '-inform',
      'DER',
      '-in',
      env,
      '-binary',
      '-out',
      csr,
      '-recip',
      fixturePath(`test-${recipient}.cert.pem`),
      '-inkey',
      fixturePath(`test-${recipient}.key.pem`),
    ]);
    expect(d.exitCode, d.stderr).to.equal(0);
    return (await run('openssl', ['req', '-inform', 'DER', '-in', csr, '-noout', '-text'])).stdout;
  } finally {
    removeDir(dir);
  }
}

describe('interop harness: real clients against micromdm scepserver', function () {
  this.timeout(60_000);
  let peer: Scepserver;

  before(async () => {
    peer = await startScepserver({ challenge: 'peer-secret' });
  });
  after(async () => {
    const pid = peer?.daemon.pid;
    await peer?.stop();
    if (pid) expect(isAlive(pid), 'scepserver left running').to.equal(false);
  });

  it('scepserver peer runs with a 2048-bit CA and answers GetCACaps', async () => {
    expect(openssl.keyBits(peer.caCertPem)).to.equal(2048);
    const caps = await (await fetch(`${peer.url}?operation=GetCACaps`)).text();
    expect(caps).to.include('POSTPKIOperation');
  });

  it('runScepclient enrolls and the certificate verifies against the peer CA', async () => {
    const r = await runScepclient({ url: peer.url, challenge: 'peer-secret', cn: 'harness-device-1', ou: 'Harness' });
    expect(r.ok, r.stderr).to.equal(true);
    expect(r.keyPem).to.include('PRIVATE KEY');
    const chain = openssl.verifyChain(peer.caCertPem, r.certPem!);
    expect(chain.ok, chain.output).to.equal(true);
    expect(openssl.keyBits(r.certPem!)).to.equal(2048);
    expect(openssl.subject(r.certPem!)).to.include('CN=harness-device-1').and.include('OU=Harness');
    expect(fs.existsSync(r.dir), 'temp dir removed').to.equal(false);
    expect(peer.issued().map((e) => e.subject)).to.satisfy((s: string[]) => s.some((x) => x.endsWith('/CN=harness-device-1')));
  });

  it('runScepclient honours -ca-fingerprint and -keySize', async () => {
    const r = await runScepclient({
      url: peer.url,
      challenge: 'peer-secret',
      cn: 'harness-device-2',
      keySize: 3072,
      caFingerprint: openssl.sha256Fingerprint(peer.caCertPem),
    });
    expect(r.ok, r.stderr).to.equal(true);
    expect(openssl.keyBits(r.certPem!)).to.equal(3072);
  });

  it('runScepclient reports a refused enrollment (wrong challenge)', async () => {
    const r = await runScepclient({ url: peer.url, challenge: 'wrong', cn: 'harness-device-3', timeoutMs: 20_000 });
    expect(r.ok).to.equal(false);
    expect(r.certPem).to.equal(undefined);
    expect(r.exitCode).to.not.equal(0);
  });

  // Known limitation, kept as a test so we notice if it changes: scepserver always wraps its
  // CertRep in DES-CBC, which certmonger's OpenSSL 3 cannot decrypt ("unsupported"); the
  // certificate is issued server-side but certmonger ends in NEED_GUIDANCE.
  it('certmonger reaches scepserver but cannot open its DES-CBC CertRep', async () => {
    const cm = await startCertmonger();
    try {
      await cm.addCa('peer', peer.url);
      const r = await cm.request({ caName: 'peer', id: 'harness-cm-1', cn: 'harness-cm-1', challenge: 'peer-secret', timeoutSec: 20 });
      expect(
        peer.issued().some((e) => e.subject === '/CN=harness-cm-1'),
        'issued by scepserver',
      ).to.equal(true);
      expect(r.status, r.listing.raw).to.equal('NEED_GUIDANCE');
      expect(r.certPem).to.equal(undefined);
    } finally {
      await cm.stop();
    }
  });
});

describe('interop harness: certmonger against the capture server', function () {
  this.timeout(60_000);
  let out: string;
  let cm: Certmonger;
  let srv: CaptureServer | undefined;

  before(async () => {
    out = makeTempDir('scepter-capture');
    cm = await startCertmonger();
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });
  after(async () => {
    const pid = cm?.daemon.pid;
    const dir = cm?.dir;
    await cm?.stop();
    removeDir(out);
    if (pid) expect(isAlive(pid), 'certmonger left running').to.equal(false);
    if (dir) expect(fs.existsSync(dir), 'certmonger state dir removed').to.equal(false);
  });

  it('sends a GET PKCSReq (AES-256, SHA-256) encrypted to the CA', async () => {
    srv = await startCaptureServer({ outDir: out, prefix: 'ca' });
    const ca = await cm.fetchCaCerts(srv.url);
    expect(ca.trim()).to.equal(readFixtureText('test-ca.cert.pem').trim());
    await cm.addCa('capture-ca', srv.url, { caCertPem: ca });
    const r = await cm.request({ caName: 'capture-ca', id: 'harness-cm-2', cn: 'harness-cm-2', challenge: 'harness-pw-2', timeoutSec: 20 });
    // the capture server answers 500 once it has the request
    expect(r.status).to.equal('CA_UNREACHABLE');
    const cap = single(srv.captures, 'captures');
    expect(cap.method).to.equal('GET');
    expect(cap.urlLength).to.be.greaterThan(3000);
    const text = (await run('openssl', ['cms', '-inform', 'DER', '-in', cap.file, '-cmsout', '-print'])).stdout;
    expect(text).to.match(/2\.16\.840\.1\.113733\.1\.9\.2\)\s+set:\s+PRINTABLESTRING:19/);
    expect(text).to.include('sha256 (2.16.840.1.101.3.4.2.1)');
    const csr = await decryptCsr(cap.file, 'ca');
    expect(csr).to.match(/challengePassword\s*:harness-pw-2/);
    expect(csr).to.include('CN = harness-cm-2');
  });

  it('picks the RA encryption certificate from a CA+RA bundle', async () => {
    srv = await startCaptureServer({ outDir: out, prefix: 'ra', ra: true });
    await cm.addCa('capture-ra', srv.url);
    const r = await cm.request({ caName: 'capture-ra', id: 'harness-cm-3', cn: 'harness-cm-3', challenge: 'harness-pw-3', timeoutSec: 20 });
    expect(r.status).to.equal('CA_UNREACHABLE');
    const csr = await decryptCsr(single(srv.captures, 'captures').file, 'ra-encrypt');
    expect(csr).to.match(/challengePassword\s*:harness-pw-3/);
  });
});

describe('interop harness: capture server with scepclient, and openssl helpers', function () {
  this.timeout(60_000);

  it('captures a scepclient POST PKCSReq', async () => {
    const out = makeTempDir('scepter-capture');
    const srv = await startCaptureServer({ outDir: out });
    try {
      const r = await runScepclient({ url: srv.url, challenge: 'harness-pw-4', cn: 'harness-device-4', timeoutMs: 20_000 });
      expect(r.ok).to.equal(false);
      const cap = single(srv.captures, 'captures');
      expect(cap.method).to.equal('POST');
      // DES-CBC: openssl needs the legacy provider to open it, so only check the outer layer
      const v = await run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', cap.file, '-noverify', '-out', '/dev/null']);
      expect(v.exitCode, v.stderr).to.equal(0);
    } finally {
      await srv.close();
      removeDir(out);
    }
  });

  it('parses key usage, EKU and basic constraints of the fixture certificates', () => {
    const ca = readFixtureText('test-ca.cert.pem');
    const sign = readFixtureText('test-ra-sign.cert.pem');
    const enc = readFixtureText('test-ra-encrypt.cert.pem');
    expect(openssl.keyUsage(ca)).to.have.members(['Digital Signature', 'Key Encipherment', 'Certificate Sign', 'CRL Sign']);
    expect(openssl.keyUsageCritical(ca)).to.equal(true);
    expect(openssl.basicConstraints(ca)).to.deep.equal({ critical: true, ca: true });
    expect(openssl.keyUsage(sign)).to.deep.equal(['Digital Signature']);
    expect(openssl.keyUsage(enc)).to.deep.equal(['Key Encipherment']);
    expect(openssl.eku(sign)).to.deep.equal([]);
    expect(openssl.keyBits(ca)).to.equal(2048);
    expect(openssl.signatureAlgorithm(ca)).to.equal('sha256WithRSAEncryption');
    expect(openssl.verifyChain(ca, sign).ok).to.equal(true);
    expect(openssl.verifyChain(sign, enc).ok).to.equal(false);
  });
});
