// CA rollover with the CA and RA keys in a SoftHSM2 token: `scepter ca rollover` (another process)
// generates the next CA's keys inside the token under labels of their own, cross-signs the two CAs,
// records the key's URI; the running server switches at the activation time. micromdm's scepclient
// enrolls before and after, and renews a device certificate of the old CA into one of the new CA;
// openssl verifies the chains and both CAs' CRLs; device trust accepts certificates of both CAs.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, TEST_CHALLENGE } from '../support/test-server';
import { runScepclient } from '../support/scepclient';
import { createSoftHsm, SoftHsm } from '../support/softhsm';
import { run } from '../support/proc';
import { ossl, scratch, within } from '../integration/revocation-support';
import { createIosCerts, fetchChallenge, IntegrationServer, startIntegrationServer, TEST_ACTOR } from '../integration/integrations-support';
import { mtlsCheck } from '../integration/trust-support';
import { ParsedCertificate } from '../../src/pki/certificate';
import { pemDecode } from '../../src/pki/der';

const BIN = path.resolve(__dirname, '../../../bin/scepter');
const HOUR = 3_600_000;

describe('CA rollover with the keys in a PKCS#11 token (SoftHSM2), real clients across the switch', function () {
  this.timeout(300_000);
  const files = scratch();
  let hsm: SoftHsm;
  let server: IntegrationServer;
  let integ: Awaited<ReturnType<typeof createIosCerts>>;
  let ca1Pem: string;
  let ca2Pem: string;
  let ca1: ParsedCertificate;
  /** a device of the integration enrolled by scepclient before the switch, renewed after it */
  let device: { cn: string; keyPem: string; certPem: string };
  /** another device of the old CA, never renewed */
  let oldDevice: { keyPem: string; certPem: string };
  let renewedPem: string;

  const env = () => ({ ...process.env, ...server.env, ...hsm.env() });
  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: env(), timeoutMs: 120_000 });
  const certsDir = () => path.join(server.dir, 'certs');
  const parse = (pem: string) => ParsedCertificate.fromDer(pemDecode(pem, 'CERTIFICATE'));
  const atServerTime = () => String(Math.floor(server.clock.now().getTime() / 1000));
  const serverEnv = () => ({
    ...hsm.env(),
    SCEPTER_RA: 'on',
    SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
    SCEPTER_CA_POLL_SECONDS: '1',
    // device certificates shorter than the integration's 14-day renewal window: they renew at once
    SCEPTER_CERT_VALIDITY_DAYS: '10',
  });

  /** scepclient through the integration's own SCEP URL with a challenge from its challenge URL */
  async function scepclientDevice(cn: string, current?: { keyPem: string; certPem: string }) {
    const r = await runScepclient({
      url: `${server.url}/scep/${integ.id}`,
      challenge: await fetchChallenge(server, integ),
      ou: integ.id,
      cn,
      keySize: 2048,
      keyPem: current?.keyPem,
      certPem: current?.certPem,
    });
    expect(r.ok, r.stderr + r.stdout).to.equal(true);
    return { cn, keyPem: r.keyPem, certPem: r.certPem! };
  }

  // the listener's certificate comes from the CA issuing now: both CAs anchor the check
  const trustCheck = (d: { certPem: string; keyPem: string }) =>
    mtlsCheck(server.app.tlsPort(), fs.readFileSync(ca1Pem, 'utf8') + fs.readFileSync(ca2Pem, 'utf8'), 'user=alice', d);

  before(async () => {
    hsm = await createSoftHsm('scepter-roll');
    // the first CA's and RA's keys generated in the token (the CLI's `scepter init` does the same)
    const first = await startTestServer(serverEnv(), undefined, { generateTokenKeys: true });
    await first.stop();
    server = await startIntegrationServer(serverEnv(), first.dir);
    ca1 = server.app.services.authority.current().material.ca.certificate;
    ca1Pem = files.file('ca1.pem', fs.readFileSync(path.join(certsDir(), 'ca.cert.pem')));
    integ = await createIosCerts(server);
    await server.app.services.integrations.setStatus(integ.id, 'all', undefined, TEST_ACTOR);
    await server.app.services.trustPolicy.set('require-trusted', undefined, TEST_ACTOR);
    await server.app.trust.refresh();
  });
  after(async () => {
    await server?.stop();
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
    hsm?.destroy();
  });

  it('scepclient enrolls from the first CA (key in the token) before the rollover', async () => {
    device = await scepclientDevice('UDID-RENEWING');
    oldDevice = await scepclientDevice('UDID-OLD-CA');
    for (const d of [device, oldDevice]) {
      expect(parse(d.certPem).issuer).to.equal(ca1.subject);
      expect((await ossl(['verify', '-CAfile', ca1Pem, files.file(`${parse(d.certPem).serialHex}.pem`, d.certPem)])).out).to.contain(': OK');
    }
  });

  it('`scepter ca rollover` generates the next CA and RA keys in the token, non-extractable, with labels and ids of their own, and records the key URI', async () => {
    const activateAt = new Date(Date.now() + HOUR).toISOString().replace(/\.\d+Z$/, 'Z');
    const r = await cli('ca', 'rollover', '--activate-at', activateAt, '--json');
    expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ created: true, generation: 2 });
    // no key file: the keys are in the token
    ca2Pem = path.join(certsDir(), 'g2-ca.cert.pem');
    expect(fs.readdirSync(certsDir()).filter((f) => /^(g\d+-)?(ca|ra-sign|ra-encrypt)\.key\.pem$/.test(f))).to.deep.equal([]);
    const listing = (await hsm.tool(['--list-objects', '--type', 'privkey'])).out;
    for (const label of ['scepter-ca', 'scepter-ra-sign', 'scepter-ra-encrypt', 'scepter-ca-g2', 'scepter-ra-sign-g2', 'scepter-ra-encrypt-g2'])
      expect(listing).to.contain(`label:      ${label}\n`);
    const g2Object = listing.slice(listing.indexOf('label:      scepter-ca-g2\n'));
    expect(g2Object).to.match(/^label:\s+scepter-ca-g2\n\s+ID:\s+([0-9a-f]{16})\n/);
    expect(g2Object.slice(0, 400)).to.match(/Access:\s+sensitive, always sensitive, never extractable, local/);

    // the generation record names the token key; `ca show` lists it
    const show = JSON.parse((await cli('ca', 'show', '--json')).stdout);
    const g2 = show.generations[1];
    expect(g2.keyUri).to.match(/^pkcs11:token=scepter-roll;object=scepter-ca-g2;id=(%[0-9a-f]{2}){8}$/);
    const [row] = await server.app.services.db.manager.query('SELECT key_uri FROM ca_generations WHERE generation = 2');
    expect(row.key_uri).to.equal(g2.keyUri);

    // the new CA certificate's key is the token's new key
    const pub = await hsm.tool(['--read-object', '--type', 'pubkey', '--label', 'scepter-ca-g2', '--output-file', files.file('ca2-pub.der')]);
    expect(pub.code, pub.out).to.equal(0);
    const modulus = (await ossl(['rsa', '-pubin', '-inform', 'DER', '-in', files.file('ca2-pub.der'), '-noout', '-modulus'])).out.trim();
    expect((await ossl(['x509', '-in', ca2Pem, '-noout', '-modulus'])).out.trim()).to.equal(modulus);

    // cross-signed: NewWithOld by the old key in the token, OldWithNew by the new one
    expect((await ossl(['verify', '-CAfile', ca1Pem, path.join(certsDir(), 'g2-link-new-with-old.cert.pem')])).out).to.contain(': OK');
    expect((await ossl(['verify', '-CAfile', ca2Pem, path.join(certsDir(), 'g2-link-old-with-new.cert.pem')])).out).to.contain(': OK');
    expect((await ossl(['verify', '-CAfile', ca2Pem, path.join(certsDir(), 'g2-ra-encrypt.cert.pem')])).out).to.contain(': OK');
  });

  it('the running server loads the new generation from the token and switches at the activation time; scepclient then enrolls from the new CA', async () => {
    await within(15_000, 'generation 2 loaded', async () => server.app.services.authority.all.length === 2);
    const early = await runScepclient({ url: `${server.url}/scep`, challenge: TEST_CHALLENGE, cn: 'still-ca1', keySize: 2048 });
    expect(early.ok, early.stderr).to.equal(true);
    expect(parse(early.certPem!).issuer).to.equal(ca1.subject);

    server.clock.advance(2 * HOUR);
    expect(server.app.services.authority.current().generation).to.equal(2);
    const after = await runScepclient({ url: `${server.url}/scep`, challenge: TEST_CHALLENGE, cn: 'after-switch', keySize: 2048 });
    expect(after.ok, after.stderr + after.stdout).to.equal(true);
    const ca2 = parse(fs.readFileSync(ca2Pem, 'utf8'));
    expect(parse(after.certPem!).issuer).to.equal(ca2.subject);
    const pem = files.file('after-switch.pem', after.certPem);
    expect((await ossl(['verify', '-attime', atServerTime(), '-CAfile', ca2Pem, pem])).out).to.contain(': OK');
    expect((await ossl(['verify', '-attime', atServerTime(), '-CAfile', ca1Pem, pem])).code).to.not.equal(0);
  });

  it('scepclient renews the old CA`s device certificate (request signed with it) after the switch: the new certificate comes from the new CA', async () => {
    const renewed = await scepclientDevice(device.cn, device);
    const ca2 = parse(fs.readFileSync(ca2Pem, 'utf8'));
    const cert = parse(renewed.certPem);
    expect(cert.issuer).to.equal(ca2.subject);
    expect(cert.subject).to.equal(parse(device.certPem).subject);
    renewedPem = files.file('renewed.pem', renewed.certPem);
    expect((await ossl(['verify', '-attime', atServerTime(), '-CAfile', ca2Pem, renewedPem])).out).to.contain(': OK');
    // the server recorded it as the renewal of the old certificate
    const rows: { status: string; ca_generation: number }[] = await server.app.services.db.manager.query(
      'SELECT status, ca_generation FROM certificates WHERE subject = ? ORDER BY id',
      [cert.subject],
    );
    expect(rows.map((x) => [x.status, Number(x.ca_generation)])).to.deep.equal([
      ['superseded', 1],
      ['valid', 2],
    ]);
    device = { ...device, certPem: renewed.certPem };
  });

  it('device trust accepts certificates of both CAs after the switch', async () => {
    await server.app.trust.refresh();
    expect((await trustCheck(device)).body).to.include({ trusted: true, serial: parse(device.certPem).serialHex });
    expect((await trustCheck(oldDevice)).body).to.include({ trusted: true, serial: parse(oldDevice.certPem).serialHex });
  });

  it('both CAs publish their CRLs, each signed by its own key in the token; the new CA`s OCSP responder key is in the token too (openssl)', async () => {
    const crl1 = files.file('crl1.der', Buffer.from(await (await fetch(`${server.url}/crl/ca.crl`)).arrayBuffer()));
    const crl2 = files.file('crl2.der', Buffer.from(await (await fetch(`${server.url}/crl/ca-2.crl`)).arrayBuffer()));
    expect((await ossl(['crl', '-inform', 'DER', '-in', crl1, '-CAfile', ca1Pem, '-noout'])).out).to.contain('verify OK');
    expect((await ossl(['crl', '-inform', 'DER', '-in', crl2, '-CAfile', ca2Pem, '-noout'])).out).to.contain('verify OK');
    // OCSP for the new CA's certificate: answered by its delegated responder, whose key is in the token too
    const ocsp = await ossl(['ocsp', '-issuer', ca2Pem, '-cert', renewedPem, '-url', `${server.url}/ocsp`, '-CAfile', ca2Pem, '-validity_period', '10800']);
    expect(ocsp.out).to.contain('Response verify OK').and.contain(`${renewedPem}: good`);
    expect((await hsm.tool(['--list-objects', '--type', 'privkey'])).out).to.contain('label:      scepter-ca-g2-ocsp\n');
  });

  it('a restart finds each generation`s key in the token by its recorded URI', async () => {
    await server.stop();
    server = await startIntegrationServer(serverEnv(), server.dir);
    server.clock.advance(2 * HOUR);
    const all = server.app.services.authority.all;
    expect(all.map((g) => [g.generation, g.keyUri ?? null])).to.deep.equal([
      [1, null],
      [2, JSON.parse((await cli('ca', 'show', '--json')).stdout).generations[1].keyUri],
    ]);
    const r = await runScepclient({ url: `${server.url}/scep`, challenge: TEST_CHALLENGE, cn: 'after-restart', keySize: 2048 });
    expect(r.ok, r.stderr + r.stdout).to.equal(true);
    expect(parse(r.certPem!).issuer).to.equal(parse(fs.readFileSync(ca2Pem, 'utf8')).subject);
  });
});
