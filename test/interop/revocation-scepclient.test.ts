// Certificates enrolled by Debian's scepclient (micromdm), revoked, then checked with openssl's own
// CRL and OCSP clients.
import { expect } from 'chai';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { runScepclient } from '../support/scepclient';
import { crlText, createCertIntegration, fetchCrl, ocspQuery, ossl, scratch, TEST_ACTOR } from '../integration/revocation-support';
import { ParsedCertificate } from '../../src/pki/certificate';
import { pemDecode } from '../../src/pki/der';

describe('revocation interop: scepclient-enrolled certificates, openssl CRL and OCSP checks', function () {
  let server: TestServer;
  const files = scratch();

  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.destroy());

  async function enroll(url: string, challenge: string, cn: string, ou?: string): Promise<{ pem: string; serial: string }> {
    const r = await runScepclient({ url, challenge, cn, ou });
    expect(r.ok, `${r.stdout}${r.stderr}`).to.equal(true);
    const cert = ParsedCertificate.fromDer(pemDecode(r.certPem!, 'CERTIFICATE'));
    return { pem: files.file(`${cn}.pem`, r.certPem), serial: cert.serialHex };
  }

  async function crlPem(): Promise<string> {
    const der = files.file(`crl-${Date.now()}.der`, await fetchCrl(server));
    const pem = `${der}.pem`;
    expect((await ossl(['crl', '-inform', 'DER', '-in', der, '-out', pem])).code).to.equal(0);
    return pem;
  }

  it('a revoked scepclient certificate fails `openssl verify -crl_check` and OCSP says revoked with the reason', async () => {
    const leaf = await enroll(server.scepUrl, TEST_CHALLENGE, 'scepclient-revoked');
    const text = (await ossl(['x509', '-in', leaf.pem, '-noout', '-text'])).out;
    expect(text).to.contain(`URI:${server.url}/crl/ca.crl`);
    expect(text).to.contain(`OCSP - URI:${server.url}/ocsp`);
    expect((await ossl(['verify', '-crl_check', '-CAfile', server.caPemFile, '-CRLfile', await crlPem(), leaf.pem])).out).to.contain(': OK');
    expect((await ocspQuery(server, [leaf.pem])).out).to.contain(`${leaf.pem}: good`);

    await server.app.services.revocation.revoke(leaf.serial, { reason: 'keyCompromise', actor: TEST_ACTOR });
    const verify = await ossl(['verify', '-crl_check', '-CAfile', server.caPemFile, '-CRLfile', await crlPem(), leaf.pem]);
    expect(verify.code).to.not.equal(0);
    expect(verify.out).to.contain('certificate revoked');
    const ocsp = await ocspQuery(server, [leaf.pem]);
    expect(ocsp.out).to.contain('Response verify OK');
    expect(ocsp.out).to.match(/: revoked\s+This Update: [^\n]+\s+Reason: keyCompromise\s+Revocation Time: /);
  });

  it('revoking an integration revokes every scepclient certificate it issued (cessationOfOperation)', async () => {
    const id = await createCertIntegration(server, 'scepclient devices');
    const devices = [];
    for (const udid of ['SC-UDID-1', 'SC-UDID-2']) {
      const { challenge } = await server.app.services.challenges.mint(id);
      devices.push(await enroll(`${server.url}/scep/${id}`, challenge, udid, id));
    }
    expect(await server.app.services.revocation.revokeIntegration(id, { actor: TEST_ACTOR })).to.equal(2);
    const ocsp = await ocspQuery(
      server,
      devices.map((d) => d.pem),
    );
    for (const d of devices) expect(ocsp.out).to.match(new RegExp(`${d.pem}: revoked\\s+This Update: [^\\n]+\\s+Reason: cessationOfOperation`));
    const text = await crlText(server, files.dir, await fetchCrl(server));
    for (const d of devices) expect(text).to.contain(`Serial Number: ${d.serial}`);
  });
});
