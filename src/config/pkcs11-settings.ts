import path from 'node:path';
import { ConfigError } from '../shared/errors';
import { parsePkcs11Uri, siblingUri, type Pkcs11Uri } from './pkcs11-uri';

/** A key named by a pkcs11: URI, with the variable that named it (each error names the one to fix). */
export interface NamedUri {
  uri: Pkcs11Uri;
  variable: string;
}

/** CA and RA keys in a PKCS#11 token (SCEPTER_CA_KEY=pkcs11:...); undefined: key files in the certs directory. */
export interface Pkcs11Config {
  /** SCEPTER_PKCS11_MODULE: the vendor's PKCS#11 library */
  module: string;
  /** SCEPTER_PKCS11_PIN_FILE: the user PIN, in a file only the service can read */
  pinFile: string;
  /** SCEPTER_PKCS11_SESSIONS: sessions kept open, one per concurrent key operation */
  sessions: number;
  keys: { ca: NamedUri; raSign: NamedUri; raEncrypt: NamedUri };
}

export interface Pkcs11Env {
  SCEPTER_CA_KEY?: string;
  SCEPTER_RA_SIGN_KEY?: string;
  SCEPTER_RA_ENCRYPT_KEY?: string;
  SCEPTER_PKCS11_MODULE?: string;
  SCEPTER_PKCS11_PIN_FILE?: string;
  SCEPTER_PKCS11_SESSIONS: number;
}

/**
 * The PKCS#11 settings, checked together: a URI that does not parse, RA keys in a token without the
 * CA's, or a token key without module or PIN file stops the start with the variable's name. The RA
 * keys default to objects `scepter-ra-sign` and `scepter-ra-encrypt` in the CA key's token.
 */
export function pkcs11Settings(e: Pkcs11Env, home: string): Pkcs11Config | undefined {
  if (e.SCEPTER_CA_KEY === undefined) {
    for (const v of ['SCEPTER_RA_SIGN_KEY', 'SCEPTER_RA_ENCRYPT_KEY'] as const) {
      if (e[v] !== undefined) throw new ConfigError(v, 'needs SCEPTER_CA_KEY: the RA keys go in a token only with the CA key');
    }
    return undefined;
  }
  const ca = named('SCEPTER_CA_KEY', e.SCEPTER_CA_KEY);
  if (e.SCEPTER_PKCS11_MODULE === undefined)
    throw new ConfigError('SCEPTER_PKCS11_MODULE', 'must name the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so) when SCEPTER_CA_KEY is a pkcs11: URI');
  if (e.SCEPTER_PKCS11_PIN_FILE === undefined)
    throw new ConfigError('SCEPTER_PKCS11_PIN_FILE', 'must name a file holding the token PIN when SCEPTER_CA_KEY is a pkcs11: URI');
  const raSign = e.SCEPTER_RA_SIGN_KEY
    ? named('SCEPTER_RA_SIGN_KEY', e.SCEPTER_RA_SIGN_KEY)
    : { uri: siblingUri(ca.uri, 'scepter-ra-sign'), variable: 'SCEPTER_CA_KEY' };
  const raEncrypt = e.SCEPTER_RA_ENCRYPT_KEY
    ? named('SCEPTER_RA_ENCRYPT_KEY', e.SCEPTER_RA_ENCRYPT_KEY)
    : { uri: siblingUri(ca.uri, 'scepter-ra-encrypt'), variable: 'SCEPTER_CA_KEY' };
  for (const k of [raSign, raEncrypt]) {
    if (k.uri.token !== ca.uri.token || k.uri.serial !== ca.uri.serial)
      throw new ConfigError(k.variable, 'must name the same token as SCEPTER_CA_KEY (one token, one PIN)');
  }
  return {
    module: path.resolve(home, e.SCEPTER_PKCS11_MODULE),
    pinFile: path.resolve(home, e.SCEPTER_PKCS11_PIN_FILE),
    sessions: e.SCEPTER_PKCS11_SESSIONS,
    keys: { ca, raSign, raEncrypt },
  };
}

function named(variable: string, text: string): NamedUri {
  try {
    return { uri: parsePkcs11Uri(text), variable };
  } catch (err) {
    // the query part is never echoed: it may hold a pin-value
    throw new ConfigError(variable, `${(err as Error).message} (got ${JSON.stringify(text.split('?')[0])})`);
  }
}
