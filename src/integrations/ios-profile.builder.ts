import { randomUUID } from 'node:crypto';
import { IOS_CERTS_TEMPLATE } from './integration.types';
import { SubjectTemplate } from './subject-template';

export interface IosProfileInput {
  integrationId: string;
  integrationName: string;
  scepUrl: string;
  template: SubjectTemplate;
  deviceUid: string;
  challenge: string;
  /** SHA-1 of the CA certificate: iOS checks GetCACert's answer against it */
  caFingerprintSha1: Buffer;
}

// plist 5 is an ES module only; a dynamic import loads it from our CommonJS build
const loadPlist = () => import('plist');

/**
 * An unsigned configuration profile with one `com.apple.security.scep` payload, as WS1 would push
 * it, for admins who test enrollment without WS1.
 */
export async function buildIosProfile(p: IosProfileInput): Promise<string> {
  const { build } = await loadPlist();
  const base = `com.scepter.${p.integrationId}`;
  const scep = {
    PayloadType: 'com.apple.security.scep',
    PayloadVersion: 1,
    PayloadIdentifier: `${base}.scep`,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: 'Device certificate (SCEP)',
    PayloadDescription: `Enrolls a device certificate with Scepter integration ${p.integrationId}`,
    PayloadContent: {
      URL: p.scepUrl,
      Name: p.integrationId,
      Subject: p.template.profileSubject(p.deviceUid),
      Challenge: p.challenge,
      Keysize: IOS_CERTS_TEMPLATE.privateKeyLength,
      'Key Type': 'RSA',
      // 1 = signing only: the certificate's keyUsage is digitalSignature
      'Key Usage': 1,
      Retries: 3,
      RetryDelay: 10,
      CAFingerprint: p.caFingerprintSha1,
    },
  };
  const profile = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: base,
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: `Scepter: ${p.integrationName}`,
    PayloadDescription: 'Device certificate for certificate-based device trust (legacy Certs for iOS).',
    PayloadOrganization: 'Scepter',
    PayloadRemovalDisallowed: false,
    PayloadContent: [scep],
  };
  return build(profile);
}
