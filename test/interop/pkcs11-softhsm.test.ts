// CA and RA keys in a SoftHSM2 token: generated there by `scepter init`, or imported once from the
// key files with `scepter ca import-keys`; scepclient and certmonger enroll, openssl verifies the
// certificates, the CRL and OCSP answers; the start stops with a clear message when the module,
// token, PIN or key is wrong.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { runScepclient } from '../support/scepclient';
import { Certmonger, startCertmonger } from '../support/certmonger';
import { verifyChain } from '../support/openssl';
import { createSoftHsm, SoftHsm, SOFTHSM_MODULE } from '../support/softhsm';
import { fetchCrl, ocspQuery, ossl, scratch, TEST_ACTOR } from '../integration/revocation-support';
import { scepter, scratchDir } from '../integration/ops-support';
import { startServerProcess } from '../support/server-process';
import { ParsedCertificate } from '../../src/pki/certificate';
import { pemDecode } from '../../src/pki/der';
import { constants, publicEncrypt, randomBytes, verify } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { openKeyStore, type KeyStore } from '../../src/ca/key-store';
import type { PrivateKey } from '../../src/pki/private-key';
import { RsaKeyTransport } from '../../src/pki/rsa-key-transport';
import type { Pkcs11KeyStore } from '../../src/ca/pkcs11/pkcs11-key-store';
import { loadOrCreateTokenOcspSigner, OCSP_SIGNER_CERT_FILE } from '../../src/ca/ocsp-signer-token';

const KEY_FILES = ['ca.key.pem', 'ra-sign.key.pem', 'ra-encrypt.key.pem'];

describe('PKCS#11: CA and RA keys in a SoftHSM2 token', function () {
  this.timeout(240_000);
  const files = scratch();

  /** scepclient and certmonger enroll; openssl checks the certificates, the CRL (before and after a revocation) and OCSP. */
  async function enrollAndCheck(server: TestServer, label: string, ra: boolean): Promise<void> {
    const caPem = fs.readFileSync(server.caPemFile, 'utf8');
    const sc = await runScepclient({ url: server.scepUrl, challenge: TEST_CHALLENGE, cn: `scepclient-${label}`, keySize: 2048 });
    expect(sc.ok, sc.stderr + sc.stdout).to.equal(true);
    expect(verifyChain(caPem, sc.certPem!).ok, 'openssl verify (scepclient)').to.equal(true);

    let certmonger: Certmonger | undefined;
    try {
      certmonger = await startCertmonger();
      await certmonger.addCa('scepter', `${server.url}/certsrv/mscep/mscep.dll`);
      const cm = await certmonger.request({ caName: 'scepter', id: 'req1', cn: `certmonger-${label}`, challenge: TEST_CHALLENGE, timeoutSec: 60 });
      expect(cm.status, cm.caError ?? cm.listing.raw).to.equal('MONITORING');
      expect(verifyChain(caPem, cm.certPem!).ok, 'openssl verify (certmonger)').to.equal(true);
    } finally {
      await certmonger?.stop();
    }
    // GetCACert: the RA pair beside the CA in RA mode
    const getCaCert = await fetch(`${server.scepUrl}?operation=GetCACert`);
    expect(getCaCert.headers.get('content-type')).to.equal(ra ? 'application/x-x509-ca-ra-cert' : 'application/x-x509-ca-cert');

    const leaf = files.file(`${label}-leaf.pem`, sc.certPem);
    const serial = ParsedCertificate.fromDer(pemDecode(sc.certPem!, 'CERTIFICATE')).serialHex;
    await server.app.services.revocation.revoke(serial, { reason: 'keyCompromise', actor: TEST_ACTOR });
    await server.app.services.revocationView.sync();
    const crlDer = files.file(`${label}-crl.der`, await fetchCrl(server));
    const crl = await ossl(['crl', '-inform', 'DER', '-in', crlDer, '-CAfile', server.caPemFile, '-noout', '-text']);
    expect(crl.out).to.contain('verify OK');
    expect(crl.out).to.contain(`Serial Number: ${serial}`);
    const crlPem = `${crlDer}.pem`;
    expect((await ossl(['crl', '-inform', 'DER', '-in', crlDer, '-out', crlPem])).code).to.equal(0);
    const verify = await ossl(['verify', '-crl_check', '-CAfile', server.caPemFile, '-CRLfile', crlPem, leaf]);
    expect(verify.out).to.contain('certificate revoked');
    const ocsp = await ocspQuery(server, [leaf]);
    expect(ocsp.out).to.contain('Response verify OK');
    expect(ocsp.out).to.match(/: revoked\s+This Update: [^\n]+\s+Reason: keyCompromise/);
  }

  describe('CA mode, keys generated in the token by `scepter init`, OCSP signed by the CA key in the token (SCEPTER_OCSP_DELEGATED=off)', () => {
    let hsm: SoftHsm;
    let server: TestServer;
    let home: string;
    before(async () => {
      hsm = await createSoftHsm();
      home = path.join(scratchDir('hsm-home'), 'home');
      const init = await scepter(
        [
          'init',
          '--home',
          home,
          '--no-interactive',
          '--key-bits',
          '2048',
          '--database',
          'scepter.sqlite',
          '--ca-key',
          `pkcs11:token=${hsm.label};object=scepter-ca`,
          '--pkcs11-module',
          SOFTHSM_MODULE,
          '--pkcs11-pin-file',
          hsm.pinFile,
        ],
        { env: { SOFTHSM2_CONF: hsm.conf } },
      );
      expect(init.code, init.stdout + init.stderr).to.equal(0);
      // OCSP signed by the CA key in the token
      server = await startTestServer({ ...hsm.env(), SCEPTER_OCSP_DELEGATED: 'off' }, home);
      expect(server.app.services.config.ocspDelegated).to.equal(false);
    });
    after(async () => {
      await server?.stop();
      hsm?.destroy();
    });

    it('keeps no key file: the CA key is in the token, sensitive and never extractable', async () => {
      expect(fs.readdirSync(path.join(home, 'certs')).filter((f) => KEY_FILES.includes(f))).to.deep.equal([]);
      const listing = await hsm.tool(['--list-objects', '--type', 'privkey']);
      expect(listing.out).to.contain('label:      scepter-ca');
      expect(listing.out).to.match(/Access:\s+sensitive, always sensitive, never extractable, local/);
      // the CA certificate's key is the token's
      const pub = await hsm.tool(['--read-object', '--type', 'pubkey', '--label', 'scepter-ca', '--output-file', files.file('ca-pub.der')]);
      expect(pub.code, pub.out).to.equal(0);
      const modulus = (await ossl(['rsa', '-pubin', '-inform', 'DER', '-in', files.file('ca-pub.der'), '-noout', '-modulus'])).out.trim();
      expect((await ossl(['x509', '-in', server.caPemFile, '-noout', '-modulus'])).out.trim()).to.equal(modulus);
    });

    it('scepclient and certmonger enroll; openssl verifies the certificates, the CRL and OCSP', async () => {
      await enrollAndCheck(server, 'token-ca', false);
    });

    it('`scepter ca generate-keys` generates nothing more and lists the key', async () => {
      const r = await scepter(['ca', 'generate-keys'], { env: { SCEPTER_HOME: home, SOFTHSM2_CONF: hsm.conf, SCEPTER_DATABASE: 'scepter.sqlite' } });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain(`ca: pkcs11:token=${hsm.label};object=scepter-ca`);
      const status = await scepter(['status'], { env: { SCEPTER_HOME: home } });
      expect(status.stdout).to.contain(`CA key:       PKCS#11 token pkcs11:token=${hsm.label};object=scepter-ca`);
    });

    it('`scepter backup` says the keys are in the token; `scepter restore` takes such a backup', async () => {
      const pass = files.file('backup.pass', 'a long backup passphrase\n');
      fs.chmodSync(pass, 0o600);
      const out = path.join(files.dir, 'token-home.bak');
      const env = { SCEPTER_HOME: home, SOFTHSM2_CONF: hsm.conf };
      const backup = await scepter(['backup', '--out', out, '--passphrase-file', pass], { env });
      expect(backup.code, backup.stderr).to.equal(0);
      expect(backup.stderr).to.contain(`the CA and RA keys are in the PKCS#11 token (pkcs11:token=${hsm.label};object=scepter-ca), not in the backup`);
      const restored = await scepter(['restore', out, '--to', path.join(files.dir, 'restored'), '--passphrase-file', pass], {
        env: { SOFTHSM2_CONF: hsm.conf },
      });
      expect(restored.code, restored.stderr).to.equal(0);
      expect(restored.stdout).to.contain(`ok  CA key: in the PKCS#11 token pkcs11:token=${hsm.label};object=scepter-ca, not in the backup`);
    });
  });

  describe('RA mode, key files imported once into the token with `scepter ca import-keys`', () => {
    let hsm: SoftHsm;
    let server: TestServer;
    before(async () => {
      hsm = await createSoftHsm('scepter-ra');
      // a home with key files first, as an existing installation has
      const first = await startTestServer({ SCEPTER_RA: 'on' });
      await first.stop();
      const env = { SCEPTER_HOME: first.dir, SCEPTER_DATABASE: 'scepter.sqlite', SCEPTER_RA: 'on', ...hsm.env() };
      const imported = await scepter(['ca', 'import-keys'], { env });
      expect(imported.code, imported.stdout + imported.stderr).to.equal(0);
      expect(imported.stdout).to.contain(`-> pkcs11:token=scepter-ra;object=scepter-ra-encrypt`);
      // once: a second import changes nothing
      const again = await scepter(['ca', 'import-keys'], { env });
      expect(again.code).to.equal(2);
      expect(again.stderr).to.contain('holds pkcs11:token=scepter-ra;object=scepter-ca already: nothing was imported');
      for (const f of KEY_FILES) fs.renameSync(path.join(first.dir, 'certs', f), path.join(files.dir, `offline-${f}`));
      // the delegated OCSP responder (the default): its key generated in the token, its certificate signed by the CA key there
      server = await startTestServer({ SCEPTER_RA: 'on', ...hsm.env() }, first.dir);
      expect(server.app.services.config.ocspDelegated).to.equal(true);
    });
    after(async () => {
      await server?.destroy();
      hsm?.destroy();
    });

    it('the imported keys are sensitive and not extractable', async () => {
      const listing = await hsm.tool(['--list-objects', '--type', 'privkey']);
      for (const label of ['scepter-ca', 'scepter-ra-sign', 'scepter-ra-encrypt']) expect(listing.out).to.contain(`label:      ${label}`);
      // sensitive and not extractable from the import on (not "always sensitive": they were files before)
      const access = new Map([...listing.out.matchAll(/label:\s+(\S+)\n[\s\S]*?Access:\s+([^\n]*)/g)].map((m) => [m[1], m[2]!.trim()]));
      expect(['scepter-ca', 'scepter-ra-sign', 'scepter-ra-encrypt'].map((l) => access.get(l))).to.deep.equal(['sensitive', 'sensitive', 'sensitive']);
    });

    it('scepclient and certmonger enroll through the RA; openssl verifies the certificates, the CRL and the delegated OCSP answers', async () => {
      await enrollAndCheck(server, 'token-ra', true);
    });

    it('the delegated responder`s key is in the token (never extractable), renewed there at its margin', async () => {
      const certs = path.join(server.dir, 'certs');
      // (the ocsp-signer.pem this home had with key files stays unused)
      const listing = (await hsm.tool(['--list-objects', '--type', 'privkey'])).out;
      const ocspObject = listing.slice(listing.indexOf('label:      scepter-ca-ocsp\n'));
      expect(ocspObject.slice(0, 400), ocspObject.slice(0, 400)).to.match(
        /^label:\s+scepter-ca-ocsp\n[\s\S]*?Access:\s+sensitive, always sensitive, never extractable, local/,
      );
      const certFile = path.join(certs, OCSP_SIGNER_CERT_FILE);
      const first = ParsedCertificate.fromDer(pemDecode(fs.readFileSync(certFile, 'utf8'), 'CERTIFICATE'));
      // the OCSP answers carry that certificate
      const leaf = await runScepclient({ url: server.scepUrl, challenge: TEST_CHALLENGE, cn: 'ocsp-token-responder', keySize: 2048 });
      const leafPem = files.file('ocsp-token-leaf.pem', leaf.certPem);
      const respFile = files.file('ocsp-token.resp');
      const answer = await ocspQuery(server, [leafPem], ['-respout', respFile]);
      expect(answer.out).to.contain('Response verify OK');
      expect(fs.readFileSync(respFile).includes(first.der)).to.equal(true);

      // 25 days on (5 left, inside the 10-day margin): a new key in the token, the replaced one kept as -previous
      const keys = server.app.services.keys as Pkcs11KeyStore;
      const ca = server.app.services.authority.ca;
      const o = { dir: certs, commonName: 'Scepter Device CA', validityDays: 30, renewBeforeDays: 10 };
      const later = new Date(Date.now() + 25 * 86_400_000);
      const renewed = await loadOrCreateTokenOcspSigner(ca, keys, o, later);
      expect(renewed.certificate.serialHex).to.not.equal(first.serialHex);
      expect(renewed.certificate.spkiDer.equals(first.spkiDer)).to.equal(false);
      const data = randomBytes(32);
      expect(verify('sha256', data, renewed.certificate.publicKey, await renewed.key.sign('sha256', data))).to.equal(true);
      const after = (await hsm.tool(['--list-objects', '--type', 'privkey'])).out;
      expect(after).to.contain('label:      scepter-ca-ocsp\n');
      expect(after).to.contain('label:      scepter-ca-ocsp-previous\n');
      expect(after).to.not.contain('scepter-ca-ocsp-next');
      // inside its validity it is reused
      expect((await loadOrCreateTokenOcspSigner(ca, keys, o, later)).certificate.serialHex).to.equal(renewed.certificate.serialHex);
    });
  });

  describe('the SCEP key transport through the token: CKM_RSA_X_509, then the implicit-rejection unpadding', () => {
    let hsm: SoftHsm;
    let store: KeyStore;
    let key: PrivateKey;
    before(async () => {
      hsm = await createSoftHsm('scepter-kt');
      const config = loadConfig({ SCEPTER_HOME: hsm.dir, ...hsm.env('kt') });
      store = openKeyStore(config, { generate: true });
      key = await store.create('ca', 2048);
    });
    after(async () => {
      await store?.close();
      hsm?.destroy();
    });

    it('a good PKCS#1 v1.5 block gives the content key; a bad one gives a synthetic key, never an error', async () => {
      const transport = new RsaKeyTransport(randomBytes(32));
      const cek = randomBytes(32);
      const good = publicEncrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, cek);
      expect((await transport.decryptAsync(key, good, 32)).equals(cek)).to.equal(true);
      // raw c = m^e with m not PKCS#1 v1.5 (first bytes 00 01): the token decrypts it, the unpadding rejects it silently
      const badBlock = Buffer.alloc(256, 0xab);
      badBlock[0] = 0;
      badBlock[1] = 1;
      const bad = publicEncrypt({ key: key.publicKey, padding: constants.RSA_NO_PADDING }, badBlock);
      const first = await transport.decryptAsync(key, bad, 32);
      expect(first).to.have.length(32);
      expect(first.equals(badBlock.subarray(-32))).to.equal(false);
      // the same ciphertext gives the same synthetic key: a retry learns nothing either
      expect((await transport.decryptAsync(key, bad, 32)).equals(first)).to.equal(true);
      // a wrong expected length (another cipher's key size) is rejected the same way
      expect((await transport.decryptAsync(key, good, 24)).equals(cek.subarray(8))).to.equal(false);
    });

    it('signatures verify with the public key; 16 operations at once share the sessions', async () => {
      const data = randomBytes(100);
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? key.sign('sha256', data) : key.sign('sha1', data))));
      results.forEach((sig, i) => expect(verify(i % 2 ? 'sha256' : 'sha1', data, key.publicKey, sig), `signature ${i}`).to.equal(true));
    });
  });

  describe('a token that lost its sessions (an HSM restarted, a link dropped)', () => {
    it('opens them again, logs in again and retries: the operations in flight succeed', async () => {
      const hsm = await createSoftHsm('scepter-lost');
      const store = openKeyStore(loadConfig({ SCEPTER_HOME: hsm.dir, ...hsm.env('lost') }), { generate: true }) as Pkcs11KeyStore;
      try {
        const key = await store.create('ca', 2048);
        const data = randomBytes(64);
        expect(verify('sha256', data, key.publicKey, await key.sign('sha256', data))).to.equal(true);
        // what the module does when the device goes away: every session of this process closed, the login gone
        const internals = store.token as unknown as { p11: { C_CloseAllSessions(slot: Buffer): void }; slot: Buffer };
        internals.p11.C_CloseAllSessions(internals.slot);
        const signatures = await Promise.all(Array.from({ length: 8 }, () => key.sign('sha256', data)));
        for (const sig of signatures) expect(verify('sha256', data, key.publicKey, sig)).to.equal(true);
        const transport = new RsaKeyTransport(randomBytes(32));
        internals.p11.C_CloseAllSessions(internals.slot);
        const cek = randomBytes(16);
        const ct = publicEncrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_PADDING }, cek);
        expect((await transport.decryptAsync(key, ct, 16)).equals(cek)).to.equal(true);

        // a token that refuses the login when reopened: the operations fail, none hangs, and a later one tries again
        const s = (store.token as unknown as { all: Buffer[] }).all[0]!;
        (internals.p11 as unknown as { C_SetPIN(s: Buffer, o: string, n: string): void }).C_SetPIN(s, hsm.pin, '654321');
        internals.p11.C_CloseAllSessions(internals.slot);
        const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => key.sign('sha256', data)));
        expect(outcomes.map((o) => o.status)).to.deep.equal(Array(8).fill('rejected'));
        expect(outcomes.map((o) => String((o as PromiseRejectedResult).reason.message)).join(' ')).to.match(/CKR_PIN_INCORRECT|is unavailable/);
        await Promise.allSettled([key.sign('sha256', data)]).then(([o]) => expect(o.status).to.equal('rejected'));
      } finally {
        await store.close();
        hsm.destroy();
      }
    });
  });

  describe('start-up stops with a message naming what is wrong', () => {
    let hsm: SoftHsm;
    let home: string;
    before(async () => {
      hsm = await createSoftHsm('scepter-err');
      const s = await startTestServer({ ...hsm.env() }, undefined, { generateTokenKeys: true });
      home = s.dir;
      await s.stop();
    });
    after(() => hsm?.destroy());

    async function startFails(env: Record<string, string>): Promise<string> {
      const base = {
        SCEPTER_HOME: home,
        SCEPTER_DATABASE: path.join(home, 'scepter.sqlite'),
        SCEPTER_CERTS_DIR: path.join(home, 'certs'),
        SCEPTER_HTTP_PORT: '0',
        SCEPTER_TLS_PORT: '0',
        SCEPTER_HOST: '127.0.0.1',
        ...hsm.env(),
      };
      const err = await startServerProcess({ ...base, ...env }, 30_000).then(
        async (p) => {
          await p.kill();
          throw new Error('the server started');
        },
        (e: Error) => e.message,
      );
      expect(err).to.match(/server exited 2/);
      return err;
    }

    it('a wrong PIN', async () => {
      const pinFile = path.join(hsm.dir, 'wrong-pin');
      fs.writeFileSync(pinFile, '000000\n', { mode: 0o600 });
      expect(await startFails({ SCEPTER_PKCS11_PIN_FILE: pinFile })).to.contain(
        `SCEPTER_PKCS11_PIN_FILE: token "scepter-err" refused the PIN in ${pinFile} (CKR_PIN_INCORRECT)`,
      );
    });

    it('a PIN file others can read', async () => {
      const pinFile = path.join(hsm.dir, 'open-pin');
      fs.writeFileSync(pinFile, `${hsm.pin}\n`, { mode: 0o644 });
      fs.chmodSync(pinFile, 0o644);
      expect(await startFails({ SCEPTER_PKCS11_PIN_FILE: pinFile })).to.contain(
        `SCEPTER_PKCS11_PIN_FILE: ${pinFile} holds the token PIN but other users can read it`,
      );
    });

    it('a missing token', async () => {
      expect(await startFails({ SCEPTER_CA_KEY: 'pkcs11:token=absent;object=scepter-ca' })).to.contain(
        'SCEPTER_CA_KEY: no token matches pkcs11:token=absent;object=scepter-ca (tokens present: "scepter-err")',
      );
    });

    it('a missing module', async () => {
      expect(await startFails({ SCEPTER_PKCS11_MODULE: '/usr/lib/nowhere/libpkcs11.so' })).to.contain(
        'SCEPTER_PKCS11_MODULE: /usr/lib/nowhere/libpkcs11.so does not exist',
      );
    });

    it('a file that is no PKCS#11 module', async () => {
      expect(await startFails({ SCEPTER_PKCS11_MODULE: hsm.conf })).to.contain(`SCEPTER_PKCS11_MODULE: cannot load ${hsm.conf} as a PKCS#11 module`);
    });

    it('a missing key object', async () => {
      expect(await startFails({ SCEPTER_CA_KEY: 'pkcs11:token=scepter-err;object=other-ca' })).to.contain(
        'SCEPTER_CA_KEY: no private key pkcs11:token=scepter-err;object=other-ca in token "scepter-err": `scepter ca generate-keys` generates it in the token',
      );
    });

    it('a PIN in the URI, or no PIN file', async () => {
      expect(await startFails({ SCEPTER_CA_KEY: 'pkcs11:token=scepter-err;object=scepter-ca?pin-value=123456' })).to.contain(
        'SCEPTER_CA_KEY: pin-value is not accepted: the PIN is read from SCEPTER_PKCS11_PIN_FILE',
      );
      expect(await startFails({ SCEPTER_PKCS11_PIN_FILE: '' })).to.contain('SCEPTER_PKCS11_PIN_FILE: must name a file holding the token PIN');
    });
  });
});
