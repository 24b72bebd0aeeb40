import { expect } from 'chai';
import { OID } from '../../../src/pki/oids';
import { ParsedCsr } from '../../../src/pki/csr';
import { buildCsr } from '../../../src/pki/csr.builder';
import { buildName } from '../../../src/pki/names';
import { IosCertsEnrollmentPolicy } from '../../../src/integrations/ios-certs-enrollment.policy';
import { SubjectTemplate } from '../../../src/integrations/subject-template';
import { StoredCertificate } from '../../../src/scep/scep.ports';
import { FailInfo, ScepFailure } from '../../../src/scep/scep-failure';
import { pooledKeys } from '../../support/keys';

const DAY = 86_400_000;

describe('IosCertsEnrollmentPolicy', () => {
  const policy = new IosCertsEnrollmentPolicy(SubjectTemplate.parse('CN={DeviceUid},OU=DIX'), 365);
  const csr = async (cn: string) => {
    const [key] = await pooledKeys(1);
    return ParsedCsr.fromDer(
      await buildCsr({
        subject: buildName([
          { type: 'OU', value: 'DIX' },
          { type: 'CN', value: cn },
        ]),
        key: key,
      }),
    );
  };
  const stored = (deviceId: string, notAfter: Date): StoredCertificate => ({
    serial: '01',
    der: Buffer.alloc(0),
    status: 'valid',
    notAfter,
    integrationId: 'DIX',
    deviceId,
  });
  const failure = (fn: () => unknown): ScepFailure => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ScepFailure) return err;
      throw err;
    }
    throw new Error('no ScepFailure');
  };

  it('issues the "Signing" device profile: digitalSignature only, clientAuth, the configured validity; the UDID is the device id', async () => {
    const d = policy.evaluate(await csr('UDID-1'));
    expect(d).to.deep.equal({ profile: { keyUsage: ['digitalSignature'], extendedKeyUsage: [OID.kpClientAuth], validityDays: 365 }, deviceId: 'UDID-1' });
  });

  it('refuses a renewal that would move the certificate to another device', async () => {
    const now = new Date();
    expect(policy.evaluate(await csr('UDID-1'), stored('UDID-1', now)).deviceId).to.equal('UDID-1');
    const c = await csr('UDID-2');
    const err = failure(() => policy.evaluate(c, stored('UDID-1', now)));
    expect([err.failInfo, err.message]).to.deep.equal([FailInfo.badRequest, 'a renewal must keep the device identifier of the certificate it renews']);
  });

  it('opens renewal 14 days before expiry and says when', () => {
    const notAfter = new Date('2030-03-31T00:00:00.000Z');
    const err = failure(() => policy.checkRenewal(stored('U', notAfter), new Date('2030-03-16T23:59:59.000Z')));
    expect(err.failInfo).to.equal(FailInfo.badRequest);
    expect(err.message).to.equal('renewal not yet allowed: the 14-day renewal window opens 2030-03-17T00:00:00.000Z');
    expect(() => policy.checkRenewal(stored('U', notAfter), new Date(notAfter.getTime() - 14 * DAY))).to.not.throw();
  });
});
