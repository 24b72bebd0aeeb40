import { expect } from 'chai';
import fs from 'node:fs';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { runScepclient } from '../support/scepclient';
import { Certmonger, startCertmonger } from '../support/certmonger';
import { pkiScepCa, pkiScepEnroll } from '../support/strongswan';
import { eku, keyBits, keyUsage, keyUsageCritical, verifyChain } from '../support/openssl';

/** Debian's micromdm scepclient, certmonger and strongSwan's `pki --scep` against the real server. */
describe('interop: real SCEP clients against Scepter', function () {
  this.timeout(180_000);

  for (const ra of [false, true]) {
    describe(ra ? 'with the split RA pair (WS1 NDES mode)' : 'CA only', () => {
      let server: TestServer;
      let caPem: string;
      let certmonger: Certmonger;
      before(async () => {
        server = await startTestServer(ra ? { SCEPTER_RA: 'on' } : {});
        caPem = fs.readFileSync(server.caPemFile, 'utf8');
        certmonger = await startCertmonger();
      });
      after(async () => {
        await certmonger?.stop();
        await server?.destroy();
      });

      function checkDeviceCertificate(pem: string) {
        expect(verifyChain(caPem, pem).ok, 'openssl verify -CAfile').to.equal(true);
        expect(keyUsage(pem)).to.deep.equal(['Digital Signature']);
        expect(keyUsageCritical(pem)).to.equal(true);
        expect(eku(pem)).to.deep.equal(['TLS Web Client Authentication']);
        expect(keyBits(pem)).to.equal(2048);
      }

      it('micromdm scepclient (POST, DES-CBC, SHA-1) enrolls', async () => {
        const r = await runScepclient({ url: server.scepUrl, challenge: TEST_CHALLENGE, cn: `scepclient-${ra ? 'ra' : 'ca'}`, keySize: 2048 });
        expect(r.ok, r.stderr + r.stdout).to.equal(true);
        checkDeviceCertificate(r.certPem!);
        const [{ n }] = await server.app.services.db.manager.query("SELECT COUNT(*) AS n FROM certificates WHERE subject LIKE 'CN=scepclient-%'");
        expect(Number(n)).to.equal(1);
      });

      it('micromdm scepclient with a wrong challenge is refused', async () => {
        const r = await runScepclient({ url: server.scepUrl, challenge: 'wrong-challenge', cn: 'refused', keySize: 2048 });
        expect(r.ok).to.equal(false);
        expect(r.certPem).to.equal(undefined);
      });

      it('certmonger (GET, AES-256, SHA-256) enrolls through the NDES path, then renews with resubmit', async () => {
        const url = `${server.url}/certsrv/mscep/mscep.dll`;
        await certmonger.addCa('scepter', url);
        const r = await certmonger.request({ caName: 'scepter', id: 'req1', cn: `certmonger-${ra ? 'ra' : 'ca'}`, challenge: TEST_CHALLENGE, timeoutSec: 60 });
        expect(r.status, r.caError ?? r.listing.raw).to.equal('MONITORING');
        checkDeviceCertificate(r.certPem!);

        // a renewal arrives as a PKCSReq signed with the current certificate
        const before = fs.readFileSync(r.certFile, 'utf8');
        await certmonger.resubmit('req1');
        const renewed = await certmonger.waitForStatus('req1', (l) => l.status === 'MONITORING' && fs.readFileSync(r.certFile, 'utf8') !== before, 60_000);
        expect(renewed.status).to.equal('MONITORING');
        const after = fs.readFileSync(r.certFile, 'utf8');
        expect(after).to.not.equal(before);
        checkDeviceCertificate(after);
        const rows: { status: string }[] = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE subject = ? ORDER BY id', [
          `CN=certmonger-${ra ? 'ra' : 'ca'}`,
        ]);
        expect(rows.map((x) => x.status)).to.deep.equal(['superseded', 'valid']);
      });

      it('strongSwan pki --scepca fetches the CA, then pki --scep (3DES, SHA-256) enrolls', async () => {
        const ca = await pkiScepCa(server.scepUrl);
        expect(ca.ok, ca.output).to.equal(true);
        expect(fs.readFileSync(ca.caFile).equals(server.app.services.authority.caCertificate.der)).to.equal(true);
        if (ra) {
          expect(ca.raEncryptionFile, ca.output).to.be.a('string');
          expect(ca.raSigningFile, ca.output).to.be.a('string');
        } else {
          expect(ca.raEncryptionFile).to.equal(undefined);
        }
        const cn = `strongswan-${ra ? 'ra' : 'ca'}`;
        const r = await pkiScepEnroll({ url: server.scepUrl, ca, dn: `CN=${cn}`, password: TEST_CHALLENGE });
        expect(r.ok, r.output).to.equal(true);
        expect(r.output).to.contain(`Issued certificate "CN=${cn}"`);
        checkDeviceCertificate(r.certPem!);
        const rows: { status: string }[] = await server.app.services.db.manager.query('SELECT status FROM certificates WHERE subject = ?', [`CN=${cn}`]);
        expect(rows.map((x) => x.status)).to.deep.equal(['valid']);
      });

      it('strongSwan pki --scep with a wrong challenge gets a FAILURE it can read', async () => {
        const ca = await pkiScepCa(server.scepUrl);
        const r = await pkiScepEnroll({ url: server.scepUrl, ca, dn: 'CN=strongswan-refused', password: 'wrong-challenge' });
        expect(r.ok).to.equal(false);
        expect(r.certPem).to.equal(undefined);
        // it verified the signed FAILURE (an unverifiable reply reads "unable to verify PKCS#7 container")
        expect(r.output).to.not.contain('unable to verify');
        expect(r.output).to.contain('failInfo:     badRequest');
        expect(r.output).to.contain("reply status is not 'SUCCESS'");
      });
    });
  }
});
