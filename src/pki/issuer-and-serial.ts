import { childrenOf, integerHex, primitiveOf, readSingle } from './der-reader';
import { definiteForm, expectTag } from './der-values';
import { decoding } from './cms-signed-data';
import { Asn1DecodeError } from './pki.errors';

/** IssuerAndSerialNumber (RFC 5652 10.2.4): SCEP GetCert and GetCRL message data. */
export interface IssuerAndSerial {
  /** issuer Name, DER */
  issuerDer: Buffer;
  /** as `openssl x509 -serial` prints it */
  serialHex: string;
}

/** IssuerAndSubject (RFC 8894 3.3.3): SCEP CertPoll message data. */
export interface IssuerAndSubject {
  issuerDer: Buffer;
  subjectDer: Buffer;
}

export function readIssuerAndSerial(der: Uint8Array): IssuerAndSerial {
  return decoding('IssuerAndSerialNumber', () => {
    const [issuer, serial, extra] = childrenOf(readSingle(der), 0x30, 'IssuerAndSerialNumber');
    if (extra) throw new Asn1DecodeError('too many values');
    return { issuerDer: definiteForm(expectTag(issuer, 0x30, 'issuer')), serialHex: integerHex(primitiveOf(serial, 0x02, 'serialNumber')) };
  });
}

export function readIssuerAndSubject(der: Uint8Array): IssuerAndSubject {
  return decoding('IssuerAndSubject', () => {
    const [issuer, subject, extra] = childrenOf(readSingle(der), 0x30, 'IssuerAndSubject');
    if (extra) throw new Asn1DecodeError('too many values');
    return { issuerDer: definiteForm(expectTag(issuer, 0x30, 'issuer')), subjectDer: definiteForm(expectTag(subject, 0x30, 'subject'), true) };
  });
}
