import { buildCertificate, keyIdentifier, KeyUsageName } from '../pki/certificate-builder';
import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { buildDegenerateSignedData } from '../pki/cms-signed-data';
import { DecryptionIdentity } from '../pki/cms-enveloped-data';
import { OID } from '../pki/oids';
import { Clock } from '../shared/clock';
import { CaMaterial, KeyPairIdentity, randomSerial } from './ca-material';

export interface CertificateProfile {
  keyUsage: KeyUsageName[];
  extendedKeyUsage: string[];
  validityDays: number;
}

export const DEVICE_PROFILE: Omit<CertificateProfile, 'validityDays'> = {
  keyUsage: ['digitalSignature'],
  extendedKeyUsage: [OID.kpClientAuth],
};

export interface PublicationUrls {
  crlUrl?: string;
  ocspUrl?: string;
}

/** The authority: holds the CA (and RA) identities and signs certificates. */
export class CertificateAuthority {
  readonly caCertificate: ParsedCertificate;
  private readonly caKeyId: Buffer;
  private readonly getCaCertBody: { contentType: string; body: Buffer };

  constructor(
    readonly material: CaMaterial,
    private readonly clock: Clock,
    private readonly urls: PublicationUrls = {},
  ) {
    this.caCertificate = material.ca.certificate;
    this.caKeyId = keyIdentifier(this.caCertificate.spkiDer);
    const { raSigning, raEncryption } = material;
    this.getCaCertBody =
      raSigning && raEncryption
        ? {
            contentType: 'application/x-x509-ca-ra-cert',
            body: buildDegenerateSignedData([raSigning.certificate, raEncryption.certificate, this.caCertificate]),
          }
        : { contentType: 'application/x-x509-ca-cert', body: this.caCertificate.der };
  }

  get ca(): KeyPairIdentity {
    return this.material.ca;
  }

  /** Who signs SCEP responses: the RA signing identity when configured, else the CA. */
  get responseSigner(): KeyPairIdentity {
    return this.material.raSigning ?? this.material.ca;
  }

  /** Requests may be encrypted to the RA encryption certificate or to the CA. */
  get decryptionIdentities(): DecryptionIdentity[] {
    const ids: DecryptionIdentity[] = [{ certificate: this.caCertificate, key: this.material.ca.key }];
    if (this.material.raEncryption) ids.unshift({ certificate: this.material.raEncryption.certificate, key: this.material.raEncryption.key });
    return ids;
  }

  /** Certificates shipped in a CertRep's outer SignedData. */
  get responseCertificates(): ParsedCertificate[] {
    const signer = this.responseSigner.certificate;
    return signer === this.caCertificate ? [signer] : [signer, this.caCertificate];
  }

  get caCertResponse(): { contentType: string; body: Buffer } {
    return this.getCaCertBody;
  }

  /** Signs a certificate for the CSR's subject and key; the caller records it before release. */
  async issue(csr: ParsedCsr, profile: CertificateProfile): Promise<ParsedCertificate> {
    const now = this.clock.now().getTime();
    const notAfter = Math.min(now + profile.validityDays * 86_400_000, this.caCertificate.notAfter.getTime());
    const der = await buildCertificate(
      {
        serial: randomSerial(),
        // the Names as DER (ParsedCsr re-encodes a subject that arrived as BER)
        subject: csr.subjectDer,
        issuer: this.caCertificate.subjectDer,
        subjectPublicKeyInfo: csr.spkiDer,
        authorityKeyId: this.caKeyId,
        // five minutes of slack for devices whose clocks run a little behind
        notBefore: new Date(now - 5 * 60_000),
        notAfter: new Date(notAfter),
        keyUsage: profile.keyUsage,
        extendedKeyUsage: profile.extendedKeyUsage,
        crlUrl: this.urls.crlUrl,
        ocspUrl: this.urls.ocspUrl,
      },
      this.material.ca.key,
    );
    return ParsedCertificate.fromDer(der);
  }
}
