import { buildCertificate, KeyUsageName } from '../pki/certificate.builder';
import { ParsedCertificate } from '../pki/certificate';
import { ParsedCsr } from '../pki/csr';
import { buildDegenerateSignedData, buildSignedData } from '../pki/cms-signed-data';
import { DecryptionIdentity } from '../pki/cms-enveloped-data';
import { OID } from '../pki/oids';
import { Clock } from '../shared/clock';
import { CaMaterial, KeyPairIdentity, randomSerial } from './ca-material';
import { CaGeneration, firstGeneration } from './ca-generation';

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
  /** the CRL distribution point each generation writes into what it issues */
  crlUrl?: (generation: number) => string;
  ocspUrl?: string;
}

export interface IssuedCertificate {
  certificate: ParsedCertificate;
  generation: number;
}

export interface CaCertResponse {
  contentType: string;
  body: Buffer;
}

/**
 * The authority: one or more CA generations (rollover), each with its key, certificate and RA pair.
 * The current generation is the newest whose activation time has passed, read from the clock on
 * every call, so issuance switches at the activation time without a restart. Older generations
 * still decrypt requests encrypted to them (clients cache GetCACert), and their certificates stay
 * ours for renewals, trust checks and revocation until they expire.
 */
export class CertificateAuthority {
  private generations: CaGeneration[];
  private readonly caCertBodies = new WeakMap<CaMaterial, CaCertResponse>();
  private nextCaCertBody?: { key: string; response: Promise<CaCertResponse> };

  constructor(
    generations: CaGeneration[] | CaMaterial,
    private readonly clock: Clock,
    private readonly urls: PublicationUrls = {},
  ) {
    const list = Array.isArray(generations) ? generations : [firstGeneration(generations)];
    this.generations = [...list].sort((a, b) => a.generation - b.generation);
  }

  /** Every generation known, oldest first. */
  get all(): readonly CaGeneration[] {
    return this.generations;
  }

  /** Adds a generation created after start (another process ran `scepter ca rollover`). */
  addGeneration(g: CaGeneration): void {
    if (this.generations.some((x) => x.generation === g.generation)) return;
    this.generations = [...this.generations, g].sort((a, b) => a.generation - b.generation);
    this.nextCaCertBody = undefined;
  }

  /** Updates a generation's activation time (`scepter ca rollover --activate-at` on a scheduled one). */
  reschedule(generation: number, activateAt: Date): void {
    const g = this.generations.find((x) => x.generation === generation);
    if (g) g.activateAt = activateAt;
  }

  /** The generation issuing now: the newest whose activation time has passed. */
  current(now: Date = this.clock.now()): CaGeneration {
    let cur = this.generations[0]!;
    for (const g of this.generations) if (g.activateAt.getTime() <= now.getTime()) cur = g;
    return cur;
  }

  /** The generation that takes over next, if one is scheduled. */
  next(now: Date = this.clock.now()): CaGeneration | undefined {
    return this.generations.find((g) => g.activateAt.getTime() > now.getTime());
  }

  /** The generation whose CA certificate has this subject (each generation has its own), if any. */
  byIssuer(issuerDer: Buffer): CaGeneration | undefined {
    return this.generations.find((g) => g.material.ca.certificate.subjectDer.equals(issuerDer));
  }

  byNumber(generation: number): CaGeneration | undefined {
    return this.generations.find((g) => g.generation === generation);
  }

  get material(): CaMaterial {
    return this.current().material;
  }

  get caCertificate(): ParsedCertificate {
    return this.current().material.ca.certificate;
  }

  get ca(): KeyPairIdentity {
    return this.current().material.ca;
  }

  /** Who signs SCEP responses: the current RA signing identity when configured, else the current CA. */
  get responseSigner(): KeyPairIdentity {
    const m = this.material;
    return m.raSigning ?? m.ca;
  }

  /**
   * Requests may be encrypted to any RA encryption certificate or CA we still hold: the current ones,
   * an RA certificate just renewed (clients cache GetCACert), and other generations' (a client that
   * fetched GetCACert before the switch, or GetNextCACert ahead of it).
   */
  get decryptionIdentities(): DecryptionIdentity[] {
    const cur = this.current();
    const ordered = [cur, ...this.generations.filter((g) => g !== cur).reverse()];
    const ids: DecryptionIdentity[] = [];
    for (const g of ordered) {
      const m = g.material;
      if (m.raEncryption) ids.push({ certificate: m.raEncryption.certificate, key: m.raEncryption.key });
      for (const prev of m.previousRaEncryption ?? []) ids.push({ certificate: prev.certificate, key: prev.key });
      ids.push({ certificate: m.ca.certificate, key: m.ca.key });
    }
    return ids;
  }

  /** Certificates shipped in a CertRep's outer SignedData. */
  get responseCertificates(): ParsedCertificate[] {
    const signer = this.responseSigner.certificate;
    const ca = this.caCertificate;
    return signer === ca ? [signer] : [signer, ca];
  }

  /** GetCACert of the current generation: the CA alone, or RA signing + RA encryption + CA. */
  get caCertResponse(): CaCertResponse {
    return this.caCertResponseOf(this.material);
  }

  private caCertResponseOf(m: CaMaterial): CaCertResponse {
    let r = this.caCertBodies.get(m);
    if (!r) {
      r =
        m.raSigning && m.raEncryption
          ? {
              contentType: 'application/x-x509-ca-ra-cert',
              body: buildDegenerateSignedData([m.raSigning.certificate, m.raEncryption.certificate, m.ca.certificate]),
            }
          : { contentType: 'application/x-x509-ca-cert', body: m.ca.certificate.der };
      this.caCertBodies.set(m, r);
    }
    return r;
  }

  /** The RA certificates were renewed: GetCACert serves the new ones from now on. */
  replaceMaterial(generation: number, material: CaMaterial): void {
    const g = this.generations.find((x) => x.generation === generation);
    if (g) g.material = material;
    this.nextCaCertBody = undefined;
  }

  /**
   * GetNextCACert (RFC 8894 4.6): a SignedData signed by the current CA or RA whose content is a
   * degenerate certs-only SignedData with the next CA certificate and its RA certificates.
   * Undefined while no next generation is scheduled. Signed once per (current, next) pair.
   */
  nextCaCertResponse(): Promise<CaCertResponse> | undefined {
    const now = this.clock.now();
    const next = this.next(now);
    if (!next) return undefined;
    const signer = this.responseSigner;
    const key = `${this.current(now).generation}/${next.generation}/${signer.certificate.serialHex}`;
    if (this.nextCaCertBody?.key !== key) {
      const m = next.material;
      const certs = m.raSigning && m.raEncryption ? [m.raSigning.certificate, m.raEncryption.certificate, m.ca.certificate] : [m.ca.certificate];
      const response = buildSignedData({
        content: buildDegenerateSignedData(certs),
        signerCert: signer.certificate,
        signerKey: signer.key,
        digest: 'sha256',
        attributes: [],
        certificates: this.responseCertificates,
        signingTime: now,
      }).then((body) => ({ contentType: 'application/x-x509-next-ca-cert', body }));
      this.nextCaCertBody = { key, response };
      response.catch(() => (this.nextCaCertBody = undefined));
    }
    return this.nextCaCertBody.response;
  }

  /** Signs a certificate for the CSR's subject and key with the current CA; the caller records it before release. */
  async issue(csr: ParsedCsr, profile: CertificateProfile): Promise<IssuedCertificate> {
    const nowDate = this.clock.now();
    const gen = this.current(nowDate);
    const ca = gen.material.ca;
    const now = nowDate.getTime();
    const notAfter = Math.min(now + profile.validityDays * 86_400_000, ca.certificate.notAfter.getTime());
    const der = await buildCertificate(
      {
        serial: randomSerial(),
        // the Names as DER (ParsedCsr re-encodes a subject that arrived as BER)
        subject: csr.subjectDer,
        issuer: ca.certificate.subjectDer,
        subjectPublicKeyInfo: csr.spkiDer,
        authorityKeyId: gen.keyId,
        // five minutes of slack for devices whose clocks run a little behind
        notBefore: new Date(now - 5 * 60_000),
        notAfter: new Date(notAfter),
        keyUsage: profile.keyUsage,
        extendedKeyUsage: profile.extendedKeyUsage,
        crlUrl: this.urls.crlUrl?.(gen.generation),
        ocspUrl: this.urls.ocspUrl,
      },
      ca.key,
    );
    return { certificate: ParsedCertificate.fromDer(der), generation: gen.generation };
  }
}
