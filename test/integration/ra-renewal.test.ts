import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { startTestServer, TEST_CHALLENGE } from '../support/test-server';

/**
 * RA certificates renew themselves before they expire: a restart with a renewal margin longer than
 * what is left replaces the pair, GetCACert serves the new one, and a request encrypted to the old
 * RA encryption certificate (a client that cached GetCACert) still decrypts.
 */
describe('RA renewal with an overlap: old and new RA encryption certificates both decrypt', function () {
  this.timeout(120_000);

  it('renews the RA pair within the margin; old-RA and new-RA requests both succeed', async () => {
    const first = await startTestServer({ SCEPTER_RA: 'on', SCEPTER_RA_VALIDITY_DAYS: '40', SCEPTER_RA_RENEW_BEFORE_DAYS: '10' });
    const dir = first.dir;
    const old = await new ScepClient(first.scepUrl).getCaCertificates();
    await first.stop();
    // 40 days left is now inside a 50-day margin: the next start renews (new certificates last 100 days)
    const server = await startTestServer({ SCEPTER_RA: 'on', SCEPTER_RA_VALIDITY_DAYS: '100', SCEPTER_RA_RENEW_BEFORE_DAYS: '50' }, dir);
    try {
      const client = new ScepClient(server.scepUrl);
      const fresh = await client.getCaCertificates();
      expect(fresh.ca.fingerprintSha256).to.equal(old.ca.fingerprintSha256);
      expect(fresh.raEncryption!.serialHex).to.not.equal(old.raEncryption!.serialHex);
      expect(fresh.raSigning!.serialHex).to.not.equal(old.raSigning!.serialHex);
      expect(fresh.raEncryption!.notAfter.getTime() - Date.now()).to.be.greaterThan(90 * 86_400_000);
      expect(fs.existsSync(path.join(dir, 'certs', 'ra-encrypt.previous.key.pem'))).to.equal(true);
      expect(fs.statSync(path.join(dir, 'certs', 'ra-encrypt.previous.key.pem')).mode & 0o777).to.equal(0o600);
      const [k1, k2] = await pooledKeys(2);
      for (const [cas, key, cn] of [
        [old, k1, 'to-old-ra'],
        [fresh, k2, 'to-new-ra'],
      ] as const) {
        const r = await client.enroll({ cas: { ...fresh, recipient: cas.recipient }, subject: [{ type: 'CN', value: cn }], challenge: TEST_CHALLENGE, key });
        expect(r.status, `${cn}: ${r.failText}`).to.equal(PkiStatus.SUCCESS);
        expect(r.signerSerial).to.equal(fresh.raSigning!.serialHex);
      }
      // a restart keeps the renewed pair (nothing due) and the previous one
      await server.stop();
      const again = await startTestServer({ SCEPTER_RA: 'on', SCEPTER_RA_VALIDITY_DAYS: '100', SCEPTER_RA_RENEW_BEFORE_DAYS: '50' }, dir);
      const third = await new ScepClient(again.scepUrl).getCaCertificates();
      expect(third.raEncryption!.serialHex).to.equal(fresh.raEncryption!.serialHex);
      const r = await new ScepClient(again.scepUrl).enroll({
        cas: { ...third, recipient: old.recipient },
        subject: [{ type: 'CN', value: 'still-old' }],
        challenge: TEST_CHALLENGE,
      });
      expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
      await again.destroy();
    } finally {
      await server.destroy();
    }
  });
});
