import { CertificateAuthority } from '../ca/certificate-authority';
import { ParsedCertificate } from '../pki/certificate';
import { Clock } from '../shared/clock';
import { FailInfo, ScepFailure } from './scep-failure';
import type { ScepStoreRepository } from '../db/scep-store.repository';
import { ScepEndpoint, StoredCertificate } from './scep.ports';
import { parseBack } from './subject-policy';

/**
 * Who may fetch which certificate with GetCert (RFC 8894 section 3.3.3). The requester must sign
 * with a valid (not revoked, superseded or expired) certificate this CA issued on the endpoint it
 * asks, and gets only certificates of that endpoint held by the same device: the same device id on
 * an integration, the same subject on the default endpoint. Certificates of a deleted integration
 * are never served (its endpoint is gone and its certificates are revoked). Anything else is a
 * signed FAILURE: badRequest for a requester we do not know, badCertId for a certificate it may not
 * have, with one text whether or not the certificate exists.
 */
export class GetCertAccess {
  constructor(
    private readonly authority: CertificateAuthority,
    private readonly store: ScepStoreRepository,
    private readonly clock: Clock,
  ) {}

  async certificateFor(endpoint: ScepEndpoint, requester: ParsedCertificate, wanted: { issuerDer: Buffer; serialHex: string }): Promise<ParsedCertificate> {
    const own = this.authority.byIssuer(requester.issuerDer) ? await this.store.findCertificate(requester.serialHex) : undefined;
    const endpointIntegration = endpoint.integrationId ?? null;
    if (!own || !own.der.equals(requester.der) || own.status !== 'valid' || own.notAfter <= this.clock.now() || own.integrationId !== endpointIntegration) {
      throw new ScepFailure(FailInfo.badRequest, 'GetCert must be signed by a valid certificate this endpoint issued');
    }
    const issuer = this.authority.byIssuer(wanted.issuerDer);
    if (!issuer) throw new ScepFailure(FailInfo.badCertId, 'issuer is not this CA');
    const found = await this.store.findCertificate(wanted.serialHex);
    const cert = found && readable(found.der);
    if (!found || !cert || found.integrationId !== endpointIntegration || !sameHolder(own, requester, found, cert)) {
      throw new ScepFailure(FailInfo.badCertId, 'no certificate with this serial number for this requester');
    }
    parseBack(cert, issuer.material.ca.certificate.publicKey);
    return cert;
  }
}

/** A stored certificate as parsed, or undefined when it cannot be read (one signed before subjects were checked). */
function readable(der: Buffer): ParsedCertificate | undefined {
  try {
    return ParsedCertificate.fromDer(der);
  } catch {
    return undefined;
  }
}

function sameHolder(own: StoredCertificate, requester: ParsedCertificate, found: StoredCertificate, cert: ParsedCertificate): boolean {
  if (own.integrationId !== null) return own.deviceId !== null && own.deviceId === found.deviceId;
  return requester.subjectDer.equals(cert.subjectDer);
}
