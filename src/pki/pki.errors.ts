/**
 * Errors of the PKI layer, independent of any transport: `http/error-mapping.ts` answers them with
 * HTTP 400 and the SCEP service turns them into a CertRep FAILURE once a request is decrypted.
 * Their messages name what was wrong with the input and are safe to show a client.
 */

/** Input we cannot use: an unsupported algorithm, a message not addressed to us, a failed decryption. */
export class PkiInputError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
  }
}

/** Bytes that are not the ASN.1 structure expected: truncated, wrong tags or lengths, trailing data. */
export class Asn1DecodeError extends PkiInputError {}
