import { CertificateProfile, DEVICE_PROFILE } from '../ca/certificate-authority';
import { ParsedCsr } from '../pki/csr';
import { EnrollmentPolicy } from './scep-ports';

/** The default endpoint's policy: any subject, device profile (digitalSignature + clientAuth). */
export class DefaultEnrollmentPolicy implements EnrollmentPolicy {
  private readonly profile: CertificateProfile;
  constructor(validityDays: number) {
    this.profile = { ...DEVICE_PROFILE, validityDays };
  }
  evaluate(_csr: ParsedCsr) {
    return { profile: this.profile };
  }
}
