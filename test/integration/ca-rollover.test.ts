import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { createHash, KeyObject } from 'node:crypto';
import { pemEncode } from '../../src/pki/der';
import { loadOrCreateTlsIdentity } from '../../src/http/tls-server';
import { ParsedCertificate } from '../../src/pki/certificate';
import { PkiStatus } from '../../src/scep/scep.types';
import { ScepClient } from '../../src/scep/client/scep-client';
import { pooledKeys } from '../support/keys';
import { run } from '../support/proc';
import { assertStrictDer } from '../support/strict-der';
import { TEST_CHALLENGE } from '../support/test-server';
import { createIosCerts, decodeNdesPage, getChallengePage, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';
import { Device, enrollDevice, foreignCertificate, mtlsCheck } from './trust-support';
import { ossl, scratch, within } from './revocation-support';
import { createTestDatabase } from '../support/postgres';

const BIN = path.resolve(__dirname, '../../../bin/scepter');
const HOUR = 3_600_000;

/**
 * CA rollover end to end on the real server: `scepter ca rollover` (another process) creates the
 * next CA; the running server picks it up, answers GetNextCACert (verified with openssl cms) and
 * switches issuance at the activation time (a test clock moved past it, no restart). Both CAs
 * publish CRLs and answer OCSP (openssl), device trust accepts certificates of both, a device
 * renews across the switch with its old certificate and gets one from the new CA.
 */
for (const dialect of ['sqlite', 'postgres'] as const)
  describe(`CA rollover: next CA, GetNextCACert, switch at the activation time, both CAs in service (${dialect})`, function () {
    this.timeout(300_000);
    const files = scratch();
    let server: IntegrationServer;
    let keys: KeyObject[];
    let integ: Awaited<ReturnType<typeof createIosCerts>>;
    let ca1Pem: string;
    let ca2Pem: string;
    let ca1: ParsedCertificate;
    let client: ScepClient;
    let oldCas: Awaited<ReturnType<ScepClient['getCaCertificates']>>;
    /** enrolled before the switch (CA 1) */
    let first: { cert: ParsedCertificate; key: KeyObject; pem: string };
    let deviceBefore: Device;
    let renewed: { cert: ParsedCertificate; pem: string };
    let deviceAfter: Device;

    const certsDir = () => path.join(server.dir, 'certs');
    const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, ...server.env }, timeoutMs: 120_000 });
    const caps = async () => (await client.getCaCaps()).join(',');
    const writePem = (name: string, c: ParsedCertificate) => files.file(name, pemEncode('CERTIFICATE', c.der));
    // the listener's certificate is the first CA's before the switch, the new CA's after it: both anchor the check
    const check = (device?: { certPem: string; keyPem: string }) =>
      mtlsCheck(server.app.tlsPort(), [ca1Pem, ...(ca2Pem ? [ca2Pem] : [])].map((f) => fs.readFileSync(f, 'utf8')).join(''), 'user=alice', device);
    /** the HTTPS listener's certificate, as a client sees it in the handshake */
    const listenerCertificate = () =>
      new Promise<ParsedCertificate>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: server.app.tlsPort(), rejectUnauthorized: false }, () => {
          const c = ParsedCertificate.fromDer(socket.getPeerCertificate().raw);
          socket.destroy();
          resolve(c);
        });
        socket.once('error', reject);
      });

    async function enrollDefault(cn: string, key: KeyObject, cas = oldCas, signer?: { certificate: ParsedCertificate; key: KeyObject }) {
      const transactionId = `${cn}-${Date.now()}-${Math.random()}`;
      const r = await client.enroll({ cas, subject: [{ type: 'CN', value: cn }], challenge: signer ? undefined : TEST_CHALLENGE, key, signer, transactionId });
      expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
      return { cert: r.certificate!, key, pem: writePem(`${cn}-${r.certificate!.serialHex}.pem`, r.certificate!) };
    }

    let dropDatabase: (() => Promise<void>) | undefined;

    before(async () => {
      const pg = dialect === 'postgres' ? await createTestDatabase() : undefined;
      dropDatabase = pg?.drop;
      server = await startIntegrationServer({
        ...(pg ? { SCEPTER_DATABASE: pg.url } : {}),
        SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
        SCEPTER_RA: 'on',
        SCEPTER_CA_POLL_SECONDS: '1',
        // renewals signed by the current certificate are accepted at any time here
        SCEPTER_RENEWAL_WINDOW_DAYS: '3650',
      });
      keys = await pooledKeys(7);
      client = new ScepClient(`${server.url}/scep`);
      oldCas = await client.getCaCertificates();
      ca1 = oldCas.ca;
      ca1Pem = writePem('ca1.pem', ca1);
      integ = await createIosCerts(server);
      await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
      await server.app.services.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
      await server.app.trust.refresh();
      first = await enrollDefault('before-switch', keys[0]!);
      deviceBefore = await enrollDevice(server, integ, 'UDID-BEFORE', keys[1]!);
    });
    after(async () => {
      await server.destroy();
      await dropDatabase?.();
    });

    it('offers no GetNextCACert while no next CA exists', async () => {
      expect(await caps()).not.to.contain('GetNextCACert');
      const res = await fetch(`${server.url}/scep?operation=GetNextCACert`);
      expect(res.status).to.equal(404);
    });

    it('`scepter ca rollover --activate-at` creates the next CA, its RA pair and both link certificates; `ca show --json` lists them', async () => {
      const activateAt = new Date(Date.now() + HOUR).toISOString().replace(/\.\d+Z$/, 'Z');
      const r = await cli('ca', 'rollover', '--activate-at', activateAt, '--json');
      expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
      const out = JSON.parse(r.stdout);
      expect(out).to.include({ created: true, generation: 2 });
      for (const f of [
        'g2-ca.key.pem',
        'g2-ca.cert.pem',
        'g2-ra-sign.cert.pem',
        'g2-ra-encrypt.cert.pem',
        'g2-link-new-with-old.cert.pem',
        'g2-link-old-with-new.cert.pem',
      ])
        expect(fs.existsSync(path.join(certsDir(), f)), f).to.equal(true);
      expect(fs.statSync(path.join(certsDir(), 'g2-ca.key.pem')).mode & 0o777).to.equal(0o600);
      ca2Pem = path.join(certsDir(), 'g2-ca.cert.pem');

      const show = await cli('ca', 'show', '--json');
      expect(show.exitCode, show.stderr).to.equal(0);
      const v = JSON.parse(show.stdout);
      expect(v.sha256).to.equal(ca1.fingerprintSha256.toUpperCase()); // still issuing with the first CA
      expect(v.generations.map((g: { generation: number; state: string }) => [g.generation, g.state])).to.deep.equal([
        [1, 'current'],
        [2, 'next'],
      ]);
      const g2 = v.generations[1];
      expect(g2.activateAt).to.equal(new Date(activateAt).toISOString());
      expect(g2.subject).to.contain('G2');
      expect(g2.crlUrl).to.equal(`${server.url}/crl/ca-2.crl`);
      expect(g2.links.newWithOld.issuer).to.equal(ca1.subject);
      expect(g2.links.oldWithNew.subject).to.equal(ca1.subject);
      expect(g2.ra.signing.issuer).to.equal(g2.subject);

      // NewWithOld chains to the old CA, OldWithNew to the new one (openssl)
      const nwo = path.join(certsDir(), 'g2-link-new-with-old.cert.pem');
      const own = path.join(certsDir(), 'g2-link-old-with-new.cert.pem');
      expect((await ossl(['verify', '-CAfile', ca1Pem, nwo])).out).to.contain(': OK');
      expect((await ossl(['verify', '-CAfile', ca2Pem, own])).out).to.contain(': OK');
      // a relying party that trusts only the old CA reaches a certificate of the new one through NewWithOld
      expect((await ossl(['verify', '-CAfile', ca1Pem, '-untrusted', nwo, path.join(certsDir(), 'g2-ra-sign.cert.pem')])).out).to.contain(': OK');
      expect((await ossl(['verify', '-CAfile', ca1Pem, path.join(certsDir(), 'g2-ra-sign.cert.pem')])).code).to.not.equal(0);

      // a second rollover while one is scheduled is refused; --activate-at on it moves the time
      const again = await cli('ca', 'rollover');
      expect(again.exitCode).to.equal(2);
      expect(again.stderr).to.contain('already scheduled');
    });

    it('the running server picks the next CA up and answers GetNextCACert: signed by the current RA, verified by openssl cms, strict DER', async () => {
      await within(10_000, 'GetNextCACert in GetCACaps', async () => (await caps()).includes('GetNextCACert'));
      const res = await fetch(`${server.url}/scep?operation=GetNextCACert`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/x-x509-next-ca-cert');
      const body = Buffer.from(await res.arrayBuffer());
      assertStrictDer(body, 'GetNextCACert');
      const der = files.file('next.der', body);
      const inner = files.file('next-inner.der');
      // the signature verifies against the current CA: the signer is the current RA signing certificate
      const v = await ossl(['cms', '-verify', '-inform', 'DER', '-in', der, '-CAfile', ca1Pem, '-out', inner, '-binary']);
      expect(v.out).to.contain('Verification successful');
      assertStrictDer(fs.readFileSync(inner), 'GetNextCACert certs-only content');
      const ca2 = ParsedCertificate.fromDer(pemDer(fs.readFileSync(ca2Pem, 'utf8')));
      const printed = (await ossl(['pkcs7', '-inform', 'DER', '-in', inner, '-print_certs'])).out;
      const pems = printed.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      const fingerprints = pems.map((p) => ParsedCertificate.fromDer(pemDer(p)).fingerprintSha256);
      expect(fingerprints).to.include(ca2.fingerprintSha256);
      expect(fingerprints).to.have.length(3); // next CA and its RA pair
      // a tampered answer does not verify
      const bad = Buffer.from(body);
      bad[bad.length - 10]! ^= 0xff;
      expect(
        (await ossl(['cms', '-verify', '-inform', 'DER', '-in', files.file('bad.der', bad), '-CAfile', ca1Pem, '-out', files.file('bad-inner.der')])).code,
      ).to.not.equal(0);
      // still issuing with the first CA
      const still = await enrollDefault('still-ca1', keys[2]!);
      expect(still.cert.issuer).to.equal(ca1.subject);
    });

    it('trust checks accept the first CA`s certificates before the switch and refuse a foreign CA', async () => {
      expect((await check(deviceBefore)).body).to.include({ trusted: true, reason: 'trusted' });
      const foreign = await foreignCertificate(server.app.services.authority, 'UDID-FOREIGN');
      expect((await check(foreign)).body).to.include({ trusted: false, reason: 'unknown-issuer' });
    });

    it('switches at the activation time without a restart: GetCACert, iOS profile, challenge page and new certificates use the new CA', async () => {
      server.clock.advance(2 * HOUR);
      const ca2 = ParsedCertificate.fromDer(pemDer(fs.readFileSync(ca2Pem, 'utf8')));
      const cas = await client.getCaCertificates();
      expect(cas.ca.fingerprintSha256).to.equal(ca2.fingerprintSha256);
      expect(cas.raEncryption!.issuer).to.equal(ca2.subject);
      expect(await caps()).not.to.contain('GetNextCACert');

      // a fresh enrollment comes from the new CA, chained to it (openssl), with the new CA's CRL URL
      const fresh = await enrollDefault('after-switch', keys[3]!, cas);
      expect(fresh.cert.issuer).to.equal(ca2.subject);
      const text = await ossl(['x509', '-in', fresh.pem, '-noout', '-text']);
      expect(text.out).to.contain(`${server.url}/crl/ca-2.crl`);
      // the server's clock runs two hours ahead: verify at its time
      const at = String(Math.floor(server.clock.now().getTime() / 1000));
      expect((await ossl(['verify', '-attime', at, '-CAfile', ca2Pem, fresh.pem])).out).to.contain(': OK');

      // the iOS profile pins the new CA; the NDES challenge page shows its thumbprint
      const profile = await server.app.services.profiles.build(integ.id, 'UDIDPROFILE00000000000001', TEST_ACTOR);
      const sha1 = createHash('sha1').update(ca2.der).digest();
      expect(profile.mobileconfig).to.contain(sha1.toString('base64'));
      const page = decodeNdesPage((await getChallengePage(server, integ.challengeUsername, integ.challengePassword)).body);
      expect(page).to.contain(sha1.toString('hex').toUpperCase());

      expect(server.app.services.authority.current().generation).to.equal(2);
    });

    it('the HTTPS listener gets a certificate from the new CA within a poll of the switch, without a restart', async () => {
      const ca2 = ParsedCertificate.fromDer(pemDer(fs.readFileSync(ca2Pem, 'utf8')));
      await within(10_000, 'listener certificate from the new CA', async () => (await listenerCertificate()).issuer === ca2.subject);
      const served = await listenerCertificate();
      const pem = writePem('listener.pem', served);
      const at = String(Math.floor(server.clock.now().getTime() / 1000));
      expect((await ossl(['verify', '-attime', at, '-purpose', 'sslserver', '-CAfile', ca2Pem, pem])).out).to.contain(': OK');
      // the files hold it too: another instance (or a restart) serves the same pair
      expect(fs.readFileSync(path.join(certsDir(), 'tls-server.cert.pem'), 'utf8')).to.equal(fs.readFileSync(pem, 'utf8'));
      // a client that trusts only the new CA completes the check
      expect((await mtlsCheck(server.app.tlsPort(), fs.readFileSync(ca2Pem, 'utf8'), 'user=alice', deviceBefore)).body).to.include({ trusted: true });
    });

    it('a start after the activation replaces a listener certificate of the old CA (the server was down at the switch); one of no known CA still stops it', async () => {
      const [g1, g2] = server.app.services.authority.all;
      const dir = path.join(files.dir, 'tls-start');
      fs.mkdirSync(dir);
      const o = { certsDir: dir, hosts: [], now: server.clock.now() };
      const old = await loadOrCreateTlsIdentity(g1!.material.ca, o);
      expect(ParsedCertificate.fromDer(pemDer(old.certPem)).issuer).to.equal(g1!.material.ca.certificate.subject);
      const knownCas = [g1!.material.ca.certificate, g2!.material.ca.certificate];
      const fresh = await loadOrCreateTlsIdentity(g2!.material.ca, { ...o, knownCas });
      expect(fresh.created).to.equal(true);
      expect(ParsedCertificate.fromDer(pemDer(fresh.certPem)).issuer).to.equal(g2!.material.ca.certificate.subject);
      expect((await loadOrCreateTlsIdentity(g2!.material.ca, { ...o, knownCas })).certPem).to.equal(fresh.certPem);
      // issued by a CA that is no generation of ours: changed by someone, the start stops
      await loadOrCreateTlsIdentity(g1!.material.ca, { ...o, certsDir: (fs.mkdirSync(path.join(dir, 'other')), path.join(dir, 'other')) });
      const refused = await loadOrCreateTlsIdentity(g2!.material.ca, { ...o, certsDir: path.join(dir, 'other'), knownCas: [g2!.material.ca.certificate] }).then(
        () => 'started',
        (e: Error) => e.message,
      );
      expect(refused).to.contain('was not issued by the CA');
    });

    it('a device renews across the switch with its first-CA certificate and gets one from the new CA; a client with the cached old GetCACert still gets through', async () => {
      const cas = await client.getCaCertificates();
      const r = await enrollDefault('before-switch', keys[4]!, cas, { certificate: first.cert, key: first.key });
      expect(r.cert.issuer).to.equal(cas.ca.subject);
      expect(r.cert.subject).to.equal(first.cert.subject);
      renewed = r;
      // encrypted to the first CA's RA certificate (GetCACert cached before the switch): decrypts, issues from the new CA
      const cached = await enrollDefault('cached-getcacert', keys[5]!, { ...cas, recipient: oldCas.recipient });
      expect(cached.cert.issuer).to.equal(cas.ca.subject);
      deviceAfter = await enrollDevice(server, integ, 'UDID-AFTER', keys[6]!);
    });

    it('trust checks after the switch accept certificates of both CAs', async () => {
      expect((await check(deviceBefore)).body).to.include({ trusted: true, reason: 'trusted', serial: deviceBefore.serial });
      expect((await check(deviceAfter)).body).to.include({ trusted: true, reason: 'trusted', serial: deviceAfter.serial });
    });

    it('revokes certificates of both CAs: each CA`s CRL (openssl) lists its own, OCSP answers per issuer, trust refuses both', async () => {
      const { revocation, revocationView } = server.app.services;
      await revocation.revoke(deviceBefore.serial, { reason: 'keyCompromise', actor: TEST_ACTOR });
      await revocation.revoke(deviceAfter.serial, { reason: 'keyCompromise', actor: TEST_ACTOR });
      await revocationView.sync();
      const crl1 = files.file('crl1.der', Buffer.from(await (await fetch(`${server.url}/crl/ca.crl`)).arrayBuffer()));
      const crl2 = files.file('crl2.der', Buffer.from(await (await fetch(`${server.url}/crl/ca-2.crl`)).arrayBuffer()));
      assertStrictDer(fs.readFileSync(crl2), 'second CA CRL');
      const t1 = await ossl(['crl', '-inform', 'DER', '-in', crl1, '-CAfile', ca1Pem, '-noout', '-text']);
      const t2 = await ossl(['crl', '-inform', 'DER', '-in', crl2, '-CAfile', ca2Pem, '-noout', '-text']);
      expect(t1.out).to.contain('verify OK');
      expect(t2.out).to.contain('verify OK');
      expect(t1.out).to.contain(deviceBefore.serial).and.not.contain(deviceAfter.serial);
      expect(t2.out).to.contain(deviceAfter.serial).and.not.contain(deviceBefore.serial);
      // the new CA's CRL does not verify under the old CA
      expect((await ossl(['crl', '-inform', 'DER', '-in', crl2, '-CAfile', ca1Pem, '-noout'])).out).not.to.contain('verify OK');
      // `/crl` is the CRL of the CA issuing now
      expect(Buffer.from(await (await fetch(`${server.url}/crl`)).arrayBuffer()).equals(fs.readFileSync(crl2))).to.equal(true);

      const beforePem = files.file('device-before.pem', deviceBefore.certPem);
      const afterPem = files.file('device-after.pem', deviceAfter.certPem);
      // the server's clock runs two hours ahead: its answers are accepted that far in the future
      const ocsp = (issuer: string, cert: string) =>
        ossl(['ocsp', '-issuer', issuer, '-cert', cert, '-url', `${server.url}/ocsp`, '-CAfile', issuer, '-validity_period', '10800']);
      const o1 = await ocsp(ca1Pem, beforePem);
      expect(o1.out, o1.out).to.contain(`${beforePem}: revoked`).and.contain('Response verify OK');
      const o2 = await ocsp(ca2Pem, afterPem);
      expect(o2.out).to.contain(`${afterPem}: revoked`).and.contain('Response verify OK');
      expect((await ocsp(ca2Pem, renewed.pem)).out).to.contain(`${renewed.pem}: good`);
      const o3 = await ocsp(ca1Pem, first.pem);
      expect(o3.out).to.contain(`${first.pem}: good`);
      // the new CA's certificate with the old CA's key in the CertID matches neither CA: unauthorized (RFC 5019 2.2.3)
      expect((await ocsp(ca1Pem, renewed.pem)).out).to.contain('unauthorized');
      // openssl's own chain check with each CA's CRL
      const crl1Pem = files.file('crl1.pem', (await ossl(['crl', '-inform', 'DER', '-in', crl1])).out);
      const v1 = await ossl([
        'verify',
        '-attime',
        String(Math.floor(server.clock.now().getTime() / 1000)),
        '-crl_check',
        '-CAfile',
        ca1Pem,
        '-CRLfile',
        crl1Pem,
        beforePem,
      ]);
      expect(v1.out).to.contain('certificate revoked');

      await server.app.trust.refresh();
      expect((await check(deviceBefore)).body).to.include({ trusted: false });
      expect((await check(deviceAfter)).body).to.include({ trusted: false });
    });
  });

function pemDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
