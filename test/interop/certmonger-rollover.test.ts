// Debian's certmonger across a CA rollover (docs/ca-rollover.md, runbook step 7), against the real
// server in CA and RA modes. certmonger verifies CertRep signatures against the CA file it was added
// with (`getcert add-scep-ca -N <file>`) and never asks GetNextCACert, so once the next CA is active
// its renewals fail until the new CA certificate is appended to that file; no restart is needed.
// In RA mode a CA added without -N re-reads GetCACert with `getcert refresh-ca` instead.
// The activation time is passed by moving the server's test clock a few minutes forward: the
// certificates it then issues (backdated five minutes) are already valid for certmonger's real clock.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Certmonger, startCertmonger } from '../support/certmonger';
import { run } from '../support/proc';
import { parsePromText, sumOf } from '../support/prom-text';
import { TEST_CHALLENGE } from '../support/test-server';
import { IntegrationServer, startIntegrationServer } from '../integration/integrations-support';
import { ossl, scratch, within } from '../integration/revocation-support';
import { ParsedCertificate } from '../../src/pki/certificate';
import { pemDecode } from '../../src/pki/der';

const BIN = path.resolve(__dirname, '../../../bin/scepter');
const MINUTE = 60_000;
const UNVERIFIABLE = 'failed to verify signature on server response';

const parse = (pem: string) => ParsedCertificate.fromDer(pemDecode(pem, 'CERTIFICATE'));
const pemCount = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

for (const ra of [false, true])
  describe(`interop: certmonger renews across a CA rollover (${ra ? 'RA' : 'CA'} mode)`, function () {
    this.timeout(120_000);
    const files = scratch();
    let server: IntegrationServer;
    let cm: Certmonger;
    let scepUrl: string;
    /** the -N file certmonger verifies replies against */
    let caFile: string;
    let ca1Pem: string;
    let ca2Pem: string;
    let ca1: ParsedCertificate;
    let certFile: string;
    let fetchedFile: string;
    const cn = `certmonger-rollover-${ra ? 'ra' : 'ca'}`;

    const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, ...server.env }, timeoutMs: 60_000 });
    const caps = async () => (await (await fetch(`${scepUrl}?operation=GetCACaps`)).text()).split(/\s+/);
    /** how many requests of a SCEP operation (PKIOperation split by messageType) the server answered */
    const answered = async (operation: string) =>
      sumOf(parsePromText(await (await fetch(`${server.url}/metrics`)).text()), 'scepter_scep_request_duration_seconds_count', { operation });
    const currentCert = () => fs.readFileSync(certFile, 'utf8');
    /** `getcert resubmit`, then the listing once certmonger has settled on an outcome */
    async function resubmit(id: string, settled: (status?: string) => boolean) {
      await cm.resubmit(id);
      return cm.waitForStatus(id, (l) => settled(l.status), 45_000);
    }
    async function rows(subject: string) {
      const r: { serial: string; status: string; ca_generation: number }[] = await server.app.services.db.manager.query(
        'SELECT serial, status, ca_generation FROM certificates WHERE subject = ? ORDER BY id',
        [subject],
      );
      return r.map((x) => ({ serial: x.serial, status: x.status, generation: Number(x.ca_generation) }));
    }

    before(async () => {
      server = await startIntegrationServer({
        SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
        SCEPTER_CA_POLL_SECONDS: '1',
        ...(ra ? { SCEPTER_RA: 'on' } : {}),
      });
      scepUrl = `${server.url}/certsrv/mscep/mscep.dll`;
      ca1Pem = path.join(server.dir, 'certs', 'ca.cert.pem');
      ca1 = parse(fs.readFileSync(ca1Pem, 'utf8'));
      cm = await startCertmonger();
    });
    after(async () => {
      await cm?.stop();
      await server?.destroy();
    });

    it('certmonger enrolls from the first CA, verifying the reply against its -N file', async () => {
      const added = await cm.addCa('scepter', scepUrl);
      caFile = added.caFile!;
      // `scep-submit -C` wrote what GetCACert answers: the CA, and in RA mode its RA pair too
      expect(pemCount(fs.readFileSync(caFile, 'utf8'))).to.equal(ra ? 3 : 1);
      const r = await cm.request({ caName: 'scepter', id: 'dev', cn, challenge: TEST_CHALLENGE, timeoutSec: 45 });
      expect(r.status, r.caError ?? r.listing.raw).to.equal('MONITORING');
      certFile = r.certFile;
      expect(parse(r.certPem!).issuer).to.equal(ca1.subject);
      expect((await ossl(['verify', '-no-CApath', '-no-CAstore', '-CAfile', ca1Pem, certFile])).out).to.contain(': OK');
    });

    if (ra)
      it('a CA added without -N (its certificates fetched by certmonger through GetCACert) enrolls too', async () => {
        const added = await cm.getcert(['add-scep-ca', '-c', 'fetched', '-u', scepUrl]);
        expect(added.exitCode, added.stdout + added.stderr).to.equal(0);
        const r = await cm.request({ caName: 'fetched', id: 'fetched', cn: `${cn}-fetched`, challenge: TEST_CHALLENGE, timeoutSec: 45 });
        expect(r.status, r.caError ?? r.listing.raw).to.equal('MONITORING');
        fetchedFile = r.certFile;
        expect(parse(r.certPem!).issuer).to.equal(ca1.subject);
      });

    it('between the rollover and its activation certmonger still renews from the old CA and never asks GetNextCACert, though GetCACaps offers it', async () => {
      const activateAt = new Date(Date.now() + 2 * MINUTE).toISOString().replace(/\.\d+Z$/, 'Z');
      const r = await cli('ca', 'rollover', '--activate-at', activateAt, '--json');
      expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
      expect(JSON.parse(r.stdout)).to.include({ created: true, generation: 2 });
      ca2Pem = path.join(server.dir, 'certs', 'g2-ca.cert.pem');
      await within(15_000, 'generation 2 loaded', async () => server.app.services.authority.all.length === 2);
      expect(await caps()).to.include('GetNextCACert');

      const before = currentCert();
      const renewed = await resubmit('dev', (s) => s === 'MONITORING' && currentCert() !== before);
      expect(renewed.status, renewed.raw).to.equal('MONITORING');
      expect(parse(currentCert()).issuer).to.equal(ca1.subject);
      expect(await answered('GetNextCACert')).to.equal(0);
    });

    it('after the activation time a renewal fails with CA_UNREACHABLE while the -N file holds only the old CA', async () => {
      expect(pemCount(fs.readFileSync(caFile, 'utf8'))).to.equal(ra ? 3 : 1);
      server.clock.advance(3 * MINUTE);
      expect(server.app.services.authority.current().generation).to.equal(2);
      const before = currentCert();
      const failed = await resubmit('dev', (s) => s === 'CA_UNREACHABLE' || s === 'MONITORING');
      expect(failed.status, failed.raw).to.equal('CA_UNREACHABLE');
      expect(failed.caError).to.contain(UNVERIFIABLE);
      expect(currentCert()).to.equal(before);
      // the server did issue: certmonger could not verify the new CA's signature on the reply
      expect((await rows(`CN=${cn}`)).filter((x) => x.generation === 2 && x.status === 'valid')).to.have.length(1);
      expect(await answered('GetNextCACert')).to.equal(0);
    });

    it('with g2-ca.cert.pem appended to the -N file (no restart) a resubmit receives a certificate of the new CA, which the server recorded', async () => {
      const pid = cm.daemon.pid;
      fs.appendFileSync(caFile, fs.readFileSync(ca2Pem, 'utf8'));
      const before = currentCert();
      const renewed = await resubmit('dev', (s) => (s === 'MONITORING' && currentCert() !== before) || s === 'CA_UNREACHABLE');
      expect(renewed.status, renewed.raw).to.equal('MONITORING');
      expect(cm.daemon.pid).to.equal(pid);
      expect(cm.daemon.isRunning()).to.equal(true);

      const cert = parse(currentCert());
      const ca2 = parse(fs.readFileSync(ca2Pem, 'utf8'));
      expect(cert.issuer).to.equal(ca2.subject);
      expect(cert.subject).to.equal(`CN=${cn}`);
      const copy = files.file(`${cn}-${cert.serialHex}.pem`, currentCert());
      expect((await ossl(['verify', '-no-CApath', '-no-CAstore', '-CAfile', ca2Pem, copy])).out).to.contain(': OK');
      expect((await ossl(['verify', '-no-CApath', '-no-CAstore', '-CAfile', ca1Pem, copy])).code).to.not.equal(0);

      const recorded = await rows(`CN=${cn}`);
      expect(recorded.filter((x) => x.status === 'valid')).to.deep.equal([{ serial: cert.serialHex, status: 'valid', generation: 2 }]);
      expect(await answered('GetNextCACert')).to.equal(0);
    });

    if (ra)
      it('a CA added without -N fails the same way until `getcert refresh-ca` re-reads GetCACert; a resubmit then receives a certificate of the new CA', async () => {
        const before = fs.readFileSync(fetchedFile, 'utf8');
        const failed = await resubmit('fetched', (s) => s === 'CA_UNREACHABLE' || s === 'MONITORING');
        expect(failed.status, failed.raw).to.equal('CA_UNREACHABLE');
        expect(failed.caError).to.contain(UNVERIFIABLE);
        expect(fs.readFileSync(fetchedFile, 'utf8')).to.equal(before);

        const ca2 = parse(fs.readFileSync(ca2Pem, 'utf8'));
        // list-cas shows the SHA-1 thumbprint of the CA certificate certmonger holds, in groups of 8 hex digits
        const thumbprint = (createHash('sha1').update(ca2.der).digest('hex').toUpperCase().match(/.{8}/g) ?? []).join(' ');
        const refresh = await cm.getcert(['refresh-ca', '-c', 'fetched']);
        expect(refresh.exitCode, refresh.stdout + refresh.stderr).to.equal(0);
        await within(15_000, 'certmonger holding the new CA', async () => (await cm.getcert(['list-cas', '-c', 'fetched'])).stdout.includes(thumbprint));

        const renewed = await resubmit('fetched', (s) => (s === 'MONITORING' && fs.readFileSync(fetchedFile, 'utf8') !== before) || s === 'CA_UNREACHABLE');
        expect(renewed.status, renewed.raw).to.equal('MONITORING');
        const cert = parse(fs.readFileSync(fetchedFile, 'utf8'));
        expect(cert.issuer).to.equal(ca2.subject);
        expect((await ossl(['verify', '-no-CApath', '-no-CAstore', '-CAfile', ca2Pem, fetchedFile])).out).to.contain(': OK');
        const recorded = await rows(`CN=${cn}-fetched`);
        expect(recorded.filter((x) => x.status === 'valid')).to.deep.equal([{ serial: cert.serialHex, status: 'valid', generation: 2 }]);
        expect(await answered('GetNextCACert')).to.equal(0);
      });
  });
