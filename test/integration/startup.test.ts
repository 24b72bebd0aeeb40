import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, TEST_CHALLENGE, freeTcpPort } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { openssl } from '../support/openssl-cli';
import { PkiStatus } from '../../src/scep/scep.types';
import { ScepClient } from '../../src/scep/client/scep-client';

const SERVER = path.resolve(__dirname, '../../src/server.js');

describe('start-up, configuration and CA material', function () {
  it('stops with one line naming the invalid variable and exit code 2', () => {
    for (const [name, value] of [
      ['SCEPTER_CA_KEY_BITS', '1000'],
      ['SCEPTER_HTTP_PORT', 'eighty'],
      ['SCEPTER_PUBLIC_URL', 'not a url'],
      ['SCEPTER_CERT_VALIDITY_DAYS', '-1'],
      ['SCEPTER_DATABASE_POOL_SIZE', '0'],
    ] as const) {
      const r = spawnSync(process.execPath, [SERVER], { env: { ...process.env, [name]: value }, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, `${name}=${value}`).to.equal(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.contain(name);
    }
  });

  it('creates the CA on first start (keyUsage, mode 0600), prints URL and fingerprint, and reuses CA and database on the second start', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-start-'));
    const port = await freeTcpPort();
    const env = {
      ...process.env,
      SCEPTER_HOME: dir,
      SCEPTER_TLS_PORT: '0',
      SCEPTER_HTTP_PORT: String(port),
      SCEPTER_HOST: '127.0.0.1',
      SCEPTER_CA_KEY_BITS: '2048',
      SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
      SCEPTER_LOG_LEVEL: 'warn',
    };
    const start = () =>
      new Promise<{ out: string; stop: () => Promise<void> }>((resolve, reject) => {
        const child = spawn(process.execPath, [SERVER], { cwd: dir, env });
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('SCEP URL')) resolve({ out, stop: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) });
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
    try {
      const first = await start();
      expect(first.out).to.contain('Created a new CA');
      expect(first.out).to.contain(`SCEP URL: http://localhost:${port}/scep`);
      const fp = /CA SHA-256 fingerprint: ([0-9A-F:]+)/.exec(first.out)![1];
      const keyFile = path.join(dir, 'certs', 'ca.key.pem');
      expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(fs.existsSync(path.join(dir, 'data', 'scepter.sqlite'))).to.equal(true);
      const text = openssl(['x509', '-in', path.join(dir, 'certs', 'ca.cert.pem'), '-noout', '-text', '-fingerprint', '-sha256']).out;
      expect(text).to.match(/Key Usage: critical\s+Digital Signature, Key Encipherment, Certificate Sign, CRL Sign/);
      expect(text).to.contain('Public-Key: (2048 bit)');
      expect(text.replace(/\s/g, '')).to.contain(fp!);
      const client = new ScepClient(`http://127.0.0.1:${port}/scep`);
      const cas = await client.getCaCertificates();
      const [key] = await pooledKeys(1);
      const r = await client.enroll({ cas, subject: [{ type: 'CN', value: 'persist' }], challenge: TEST_CHALLENGE, key, transactionId: 'persist-1' });
      expect(r.status).to.equal(PkiStatus.SUCCESS);
      await first.stop();

      const second = await start();
      expect(second.out).to.contain('Using the CA');
      expect(second.out).to.contain(fp!);
      // the database survived: the same transaction gets the same certificate back
      const again = await client.enroll({ cas, subject: [{ type: 'CN', value: 'persist' }], challenge: TEST_CHALLENGE, key, transactionId: 'persist-1' });
      expect(again.certificate!.serialHex).to.equal(r.certificate!.serialHex);
      await second.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('encrypts the CA key (PKCS#8) when SCEPTER_CA_KEY_PASSPHRASE is set and refuses a wrong passphrase', async () => {
    const s = await startTestServer({ SCEPTER_CA_KEY_PASSPHRASE: 'correct horse battery' });
    const keyPem = fs.readFileSync(path.join(s.dir, 'certs', 'ca.key.pem'), 'utf8');
    await s.stop();
    expect(keyPem).to.contain('BEGIN ENCRYPTED PRIVATE KEY');
    let error: unknown;
    try {
      await startTestServer({ SCEPTER_CA_KEY_PASSPHRASE: 'wrong passphrase!' }, s.dir);
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.contain('SCEPTER_CA_KEY_PASSPHRASE');
    const again = await startTestServer({ SCEPTER_CA_KEY_PASSPHRASE: 'correct horse battery' }, s.dir);
    await again.destroy();
  });

  it('RA mode: GetCACert is the CA+RA bundle; requests encrypted to the RA or to the CA both work; replies are signed by the RA', async () => {
    const s = await startTestServer({ SCEPTER_RA: 'on' });
    try {
      const res = await fetch(`${s.scepUrl}?operation=GetCACert`);
      expect(res.headers.get('content-type')).to.equal('application/x-x509-ca-ra-cert');
      const cas = await s.client.getCaCertificates();
      expect(cas.raEncryption && cas.raSigning).to.not.equal(undefined);
      const ra = s.app.services.authority.material;
      expect(cas.raEncryption!.serialHex).to.equal(ra.raEncryption!.certificate.serialHex);
      const [k1, k2] = await pooledKeys(2);
      const viaRa = await s.client.enroll({ cas, subject: [{ type: 'CN', value: 'via-ra' }], challenge: TEST_CHALLENGE, key: k1, transactionId: 'via-ra' });
      const viaCa = await s.client.enroll({
        cas: { ...cas, recipient: cas.ca },
        subject: [{ type: 'CN', value: 'via-ca' }],
        challenge: TEST_CHALLENGE,
        key: k2,
        transactionId: 'via-ca',
      });
      for (const r of [viaRa, viaCa]) {
        expect(r.status).to.equal(PkiStatus.SUCCESS);
        expect(r.signerSerial).to.equal(ra.raSigning!.certificate.serialHex);
      }
      const text = openssl(['x509', '-noout', '-ext', 'keyUsage', '-in', path.join(s.dir, 'certs', 'ra-encrypt.cert.pem')]).out;
      expect(text)
        .to.match(/Key Encipherment/)
        .and.not.match(/Digital Signature/);
    } finally {
      await s.destroy();
    }
  });
});
