import { CertificateProfile, DEVICE_PROFILE } from '../ca/certificate-authority';
import { ParsedCsr } from '../pki/csr';
import { nameAttributes } from '../pki/names';
import { EnrollmentPolicy, StoredCertificate } from '../scep/scep.ports';
import { checkRenewalWindow } from '../scep/renewal.policy';
import { FailInfo, ScepFailure } from '../scep/scep-failure';
import { IOS_CERTS_TEMPLATE } from './integration.types';
import { SubjectTemplate } from './subject-template';

/**
 * The legacy "Certs for iOS" device certificate: RSA 2048 (checked by the enrollment handler),
 * keyUsage digitalSignature only (WS1's Private Key Type "Signing"), clientAuth, and a subject
 * that fits the integration's template; the UDID found there is recorded as the device id.
 */
export class IosCertsEnrollmentPolicy implements EnrollmentPolicy {
  private readonly profile: CertificateProfile;

  constructor(
    private readonly template: SubjectTemplate,
    validityDays: number,
    private readonly renewalWindowDays: number = IOS_CERTS_TEMPLATE.autoRenewalPeriodDays,
  ) {
    this.profile = { ...DEVICE_PROFILE, validityDays };
  }

  evaluate(csr: ParsedCsr, renewing?: StoredCertificate): { profile: CertificateProfile; deviceId: string } {
    const match = this.template.match(nameAttributes(csr.subjectName));
    if (!match.ok) throw new ScepFailure(FailInfo.badRequest, match.reason);
    // a renewal needs no challenge, so it must not move the certificate to another device
    if (renewing?.deviceId && renewing.deviceId !== match.deviceUid) {
      throw new ScepFailure(FailInfo.badRequest, 'a renewal must keep the device identifier of the certificate it renews');
    }
    return { profile: this.profile, deviceId: match.deviceUid };
  }

  /** A renewal is honoured only inside the Auto Renewal Period before the certificate expires. */
  checkRenewal(current: StoredCertificate, now: Date): void {
    checkRenewalWindow(current, now, this.renewalWindowDays);
  }
}
