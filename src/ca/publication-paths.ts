/**
 * The paths the CA writes into the certificates it issues (CRL Distribution Point, AIA OCSP) and the
 * HTTP routes answer on: one definition for both, so they cannot drift apart.
 */

/** The first CA generation's CRL: its path never changes (its certificates carry it). */
export const CRL_PATH = '/crl/ca.crl';

/** Each CA generation's CRL distribution point. */
export function crlPathOf(generation: number): string {
  return generation === 1 ? CRL_PATH : `/crl/ca-${generation}.crl`;
}

export const OCSP_PATH = '/ocsp';
