import { CertificateProfile, DEVICE_PROFILE } from '../ca/certificate-authority';
import { ParsedCsr } from '../pki/csr';
import { checkRenewalWindow } from './renewal.policy';
import { EnrollmentPolicy, StoredCertificate } from './scep.ports';

/** The default endpoint's policy: any subject, device profile (digitalSignature + clientAuth). */
export class DefaultEnrollmentPolicy implements EnrollmentPolicy {
  private readonly profile: CertificateProfile;
  constructor(
    validityDays: number,
    private readonly renewalWindowDays: number,
  ) {
    this.profile = { ...DEVICE_PROFILE, validityDays };
  }
  evaluate(_csr: ParsedCsr) {
    return { profile: this.profile };
  }
  /** A renewal without a challenge is honoured only inside SCEPTER_RENEWAL_WINDOW_DAYS before expiry. */
  checkRenewal(current: StoredCertificate, now: Date): void {
    checkRenewalWindow(current, now, this.renewalWindowDays);
  }
}
