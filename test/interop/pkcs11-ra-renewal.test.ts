// RA keys in a SoftHSM2 token renew themselves: the new pair is generated inside the token, the
// replaced encryption key keeps decrypting under `<label>-previous`, GetCACert serves the new pair,
// and scepclient enrolls through it.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { startTestServer, TEST_CHALLENGE } from '../support/test-server';
import { runScepclient } from '../support/scepclient';
import { createSoftHsm, SoftHsm } from '../support/softhsm';
import { verifyChain } from '../support/openssl';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { openKeyStore } from '../../src/ca/key-store';
import type { Pkcs11KeyStore } from '../../src/ca/pkcs11/pkcs11-key-store';
import { loadIdentity, raCertificate } from '../../src/ca/ca-material';
import { pemEncode } from '../../src/pki/der';
import { startIntegrationServer } from '../integration/integrations-support';
import { within } from '../integration/revocation-support';

describe('RA renewal with the RA keys in a PKCS#11 token (SoftHSM2)', function () {
  this.timeout(180_000);
  let hsm: SoftHsm;
  let dir: string | undefined;
  const env = (validity: number, margin: number) => ({
    ...hsm.env(),
    SCEPTER_RA: 'on',
    SCEPTER_RA_VALIDITY_DAYS: String(validity),
    SCEPTER_RA_RENEW_BEFORE_DAYS: String(margin),
  });
  const privateLabels = async () =>
    [...(await hsm.tool(['--list-objects', '--type', 'privkey'])).out.matchAll(/label:\s+(\S+)\n[\s\S]*?Access:\s+([^\n]+)/g)]
      .map((m) => [m[1], m[2]!.trim()])
      // the CA's and the RA's keys (the delegated OCSP responder's, scepter-ca-ocsp, renews on its own schedule)
      .filter(([l]) => !l!.startsWith('scepter-ca-ocsp'));

  before(async () => {
    hsm = await createSoftHsm('scepter-rarenew');
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    hsm?.destroy();
  });

  it('renews the RA pair inside the token within the margin; requests to the old and the new RA encryption certificate both decrypt', async () => {
    const first = await startTestServer(env(40, 10), undefined, { generateTokenKeys: true });
    dir = first.dir;
    const old = await new ScepClient(first.scepUrl).getCaCertificates();
    await first.stop();
    expect((await privateLabels()).map(([l]) => l)).to.have.members(['scepter-ca', 'scepter-ra-sign', 'scepter-ra-encrypt']);

    // 40 days left is inside a 50-day margin: the next start renews (new certificates last 100 days)
    const server = await startTestServer(env(100, 50), dir);
    try {
      const client = new ScepClient(server.scepUrl);
      const fresh = await client.getCaCertificates();
      expect(fresh.ca.fingerprintSha256).to.equal(old.ca.fingerprintSha256);
      expect(fresh.raEncryption!.serialHex).to.not.equal(old.raEncryption!.serialHex);
      expect(fresh.raSigning!.serialHex).to.not.equal(old.raSigning!.serialHex);
      expect(fresh.raEncryption!.notAfter.getTime() - Date.now()).to.be.greaterThan(90 * 86_400_000);
      // the new keys were generated in the token (never extractable); the replaced ones are kept as -previous
      const labels = await privateLabels();
      expect(labels.map(([l]) => l)).to.have.members([
        'scepter-ca',
        'scepter-ra-sign',
        'scepter-ra-encrypt',
        'scepter-ra-sign-previous',
        'scepter-ra-encrypt-previous',
      ]);
      for (const [label, access] of labels)
        if (label === 'scepter-ra-sign' || label === 'scepter-ra-encrypt')
          expect(access, label).to.equal('sensitive, always sensitive, never extractable, local');
      expect(fs.readdirSync(path.join(dir, 'certs')).filter((f) => /^ra-.*key\.pem$/.test(f))).to.deep.equal([]);
      // the certificates name the token keys now holding the configured labels
      const encPub = await hsm.tool(['--read-object', '--type', 'pubkey', '--label', 'scepter-ra-encrypt', '--output-file', path.join(hsm.dir, 'enc.der')]);
      expect(encPub.code, encPub.out).to.equal(0);
      const spki = fs.readFileSync(path.join(hsm.dir, 'enc.der'));
      expect(fresh.raEncryption!.spkiDer.equals(spki)).to.equal(true);

      const [k1, k2] = await pooledKeys(2);
      for (const [cas, key, cn] of [
        [old, k1, 'to-old-ra'],
        [fresh, k2, 'to-new-ra'],
      ] as const) {
        const r = await client.enroll({ cas: { ...fresh, recipient: cas.recipient }, subject: [{ type: 'CN', value: cn }], challenge: TEST_CHALLENGE, key });
        expect(r.status, `${cn}: ${r.failText}`).to.equal(PkiStatus.SUCCESS);
        expect(r.signerSerial).to.equal(fresh.raSigning!.serialHex);
      }
      // a real client through the renewed RA pair
      const sc = await runScepclient({ url: server.scepUrl, challenge: TEST_CHALLENGE, cn: 'scepclient-renewed-ra', keySize: 2048 });
      expect(sc.ok, sc.stderr + sc.stdout).to.equal(true);
      expect(verifyChain(fs.readFileSync(server.caPemFile, 'utf8'), sc.certPem!).ok).to.equal(true);
      await server.stop();

      // a restart keeps the renewed pair (nothing due) and the previous one
      const again = await startTestServer(env(100, 50), dir);
      const third = await new ScepClient(again.scepUrl).getCaCertificates();
      expect(third.raEncryption!.serialHex).to.equal(fresh.raEncryption!.serialHex);
      const r = await new ScepClient(again.scepUrl).enroll({
        cas: { ...third, recipient: old.recipient },
        subject: [{ type: 'CN', value: 'still-old' }],
        challenge: TEST_CHALLENGE,
      });
      expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
      await again.stop();

      // a second renewal: the first pair's keys are destroyed, the second pair's become -previous
      const second = await startTestServer(env(200, 150), dir);
      const fourth = await new ScepClient(second.scepUrl).getCaCertificates();
      expect(fourth.raEncryption!.serialHex).to.not.equal(fresh.raEncryption!.serialHex);
      expect((await privateLabels()).length).to.equal(5);
      const toSecond = await new ScepClient(second.scepUrl).enroll({
        cas: { ...fourth, recipient: fresh.recipient },
        subject: [{ type: 'CN', value: 'to-second-previous' }],
        challenge: TEST_CHALLENGE,
      });
      expect(toSecond.status, toSecond.failText).to.equal(PkiStatus.SUCCESS);
      // the first pair's encryption key is gone: a request encrypted to it is refused
      const toFirst = await new ScepClient(second.scepUrl)
        .enroll({ cas: { ...fourth, recipient: old.recipient }, subject: [{ type: 'CN', value: 'to-destroyed' }], challenge: TEST_CHALLENGE })
        .then(
          () => 'issued',
          (e: Error) => e.message,
        );
      expect(toFirst).to.contain('request is not encrypted to this CA');
      await second.stop();
    } finally {
      await server.stop().catch(() => undefined);
    }
  });

  it('a running instance renews the token RA pair when due; another instance sharing the token adopts it within a poll and decrypts to both pairs', async () => {
    const hsm2 = await createSoftHsm('scepter-rashared');
    const env2 = {
      ...hsm2.env(),
      SCEPTER_RA: 'on',
      SCEPTER_RA_VALIDITY_DAYS: '40',
      SCEPTER_RA_RENEW_BEFORE_DAYS: '10',
      SCEPTER_CA_POLL_SECONDS: '1',
      SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
    };
    const first = await startTestServer(env2, undefined, { generateTokenKeys: true });
    await first.stop();
    const a = await startIntegrationServer(env2, first.dir);
    const b = await startIntegrationServer(env2, first.dir);
    try {
      const clientB = new ScepClient(`${b.url}/scep`);
      const old = await clientB.getCaCertificates();
      // 31 days on for instance a: its RA certificates are within the 10-day margin, its next poll renews them in the token
      a.clock.advance(31 * 86_400_000);
      let fresh = old;
      await within(15_000, 'instance b serves the renewed RA pair', async () => {
        fresh = await clientB.getCaCertificates();
        return fresh.raEncryption!.serialHex !== old.raEncryption!.serialHex;
      });
      expect(fresh.raSigning!.serialHex).to.not.equal(old.raSigning!.serialHex);
      const [k1, k2] = await pooledKeys(2);
      for (const [recipient, key, cn] of [
        [old.recipient, k1, 'b-to-old-ra'],
        [fresh.recipient, k2, 'b-to-new-ra'],
      ] as const) {
        const r = await clientB.enroll({ cas: { ...fresh, recipient }, subject: [{ type: 'CN', value: cn }], challenge: TEST_CHALLENGE, key });
        expect(r.status, `${cn}: ${r.failText}`).to.equal(PkiStatus.SUCCESS);
        expect(r.signerSerial).to.equal(fresh.raSigning!.serialHex);
      }
    } finally {
      await b.stop();
      await a.stop();
      fs.rmSync(first.dir, { recursive: true, force: true });
      hsm2.destroy();
    }
  });

  it('a start finishes a token RA renewal that stopped between writing the new certificates and relabelling the keys', async () => {
    const hsm3 = await createSoftHsm('scepter-rastop');
    const env3 = { ...hsm3.env(), SCEPTER_RA: 'on', SCEPTER_RA_VALIDITY_DAYS: '40', SCEPTER_RA_RENEW_BEFORE_DAYS: '10' };
    const first = await startTestServer(env3, undefined, { generateTokenKeys: true });
    const certs = path.join(first.dir, 'certs');
    const old = await new ScepClient(first.scepUrl).getCaCertificates();
    await first.stop();
    const keys = openKeyStore(loadConfig({ ...env3, SCEPTER_HOME: first.dir, SCEPTER_CERTS_DIR: certs }), { generate: false }) as Pkcs11KeyStore;
    try {
      // what a renewal had done when the process stopped: new keys under -next, their certificates
      // written, the signing key not relabelled yet, the encryption key half-way (the old one -previous)
      const ca = loadIdentity(keys, 'ca', path.join(certs, 'ca.cert.pem'));
      const o = { commonName: 'Scepter Device CA', validityDays: 3650, raValidityDays: 100 };
      const sKey = await keys.generateNextRa('raSign', 2048);
      const eKey = await keys.generateNextRa('raEncrypt', 2048);
      const sCert = await raCertificate(ca, sKey, 'digitalSignature', o);
      const eCert = await raCertificate(ca, eKey, 'keyEncipherment', o);
      fs.writeFileSync(path.join(certs, 'ra-encrypt.previous.cert.pem'), fs.readFileSync(path.join(certs, 'ra-encrypt.cert.pem')));
      fs.writeFileSync(path.join(certs, 'ra-sign.cert.pem'), pemEncode('CERTIFICATE', sCert.der));
      fs.writeFileSync(path.join(certs, 'ra-encrypt.cert.pem'), pemEncode('CERTIFICATE', eCert.der));
      const previousId = createHash('sha1').update('scepter-ra-encrypt-previous').digest().subarray(0, 8);
      expect(await keys.token.relabel({ object: 'scepter-ra-encrypt' }, { label: 'scepter-ra-encrypt-previous', id: previousId })).to.equal(2);
    } finally {
      await keys.close();
    }

    const server = await startTestServer(env3, first.dir);
    try {
      const client = new ScepClient(server.scepUrl);
      const now = await client.getCaCertificates();
      expect(now.raEncryption!.serialHex).to.not.equal(old.raEncryption!.serialHex);
      const labels = (await hsm3.tool(['--list-objects', '--type', 'privkey'])).out;
      expect(labels).to.not.contain('-next');
      for (const l of ['scepter-ra-sign', 'scepter-ra-encrypt', 'scepter-ra-sign-previous', 'scepter-ra-encrypt-previous'])
        expect(labels).to.contain(`label:      ${l}\n`);
      const [k1, k2] = await pooledKeys(2);
      for (const [recipient, key, cn] of [
        [old.recipient, k1, 'stopped-to-old'],
        [now.recipient, k2, 'stopped-to-new'],
      ] as const) {
        const r = await client.enroll({ cas: { ...now, recipient }, subject: [{ type: 'CN', value: cn }], challenge: TEST_CHALLENGE, key });
        expect(r.status, `${cn}: ${r.failText}`).to.equal(PkiStatus.SUCCESS);
        expect(r.signerSerial).to.equal(now.raSigning!.serialHex);
      }
    } finally {
      await server.stop();
      fs.rmSync(first.dir, { recursive: true, force: true });
      hsm3.destroy();
    }
  });
});
