import { FailInfo } from './scep-failure';

/** RFC 8894 section 3.2.1.2 messageType. */
export enum MessageType {
  CertRep = 3,
  RenewalReq = 17,
  PKCSReq = 19,
  CertPoll = 20, // GetCertInitial in draft versions
  GetCert = 21,
  GetCRL = 22,
}

/** RFC 8894 section 3.2.1.3 pkiStatus. */
export enum PkiStatus {
  SUCCESS = 0,
  FAILURE = 2,
  PENDING = 3,
}

export { FailInfo };

export const SCEP_CAPABILITIES = ['POSTPKIOperation', 'SHA-1', 'SHA-256', 'SHA-512', 'AES', 'DES3', 'Renewal', 'SCEPStandard'];

export const CONTENT_TYPES = {
  caCert: 'application/x-x509-ca-cert',
  caRaCert: 'application/x-x509-ca-ra-cert',
  pkiMessage: 'application/x-pki-message',
  text: 'text/plain',
} as const;

export function messageTypeName(t: number): string {
  return MessageType[t] ?? String(t);
}
