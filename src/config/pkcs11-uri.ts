import { createHash } from 'node:crypto';

/**
 * RFC 7512 `pkcs11:` URIs naming a key in a token, e.g.
 * `pkcs11:token=scepter;object=scepter-ca;id=%01`. Only the path attributes that select a token
 * (token, manufacturer, model, serial) or an object (object = CKA_LABEL, id = CKA_ID, type) are
 * read. The module and the PIN come from SCEPTER_PKCS11_MODULE and SCEPTER_PKCS11_PIN_FILE: a
 * `pin-value` in the URI would put the PIN in the environment and in process listings.
 */
export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  /** CKA_LABEL */
  object?: string;
  /** CKA_ID */
  id?: Buffer;
  /** the URI as written, for messages (it holds no secret) */
  text: string;
}

const PATH_ATTRIBUTES = new Set([
  'token',
  'manufacturer',
  'model',
  'serial',
  'object',
  'id',
  'type',
  'library-manufacturer',
  'library-description',
  'library-version',
  'slot-id',
  'slot-description',
  'slot-manufacturer',
]);

/** Parses `text`; throws an Error saying what is wrong (the caller names the setting). */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  if (!text.startsWith('pkcs11:')) throw new Error('must start with pkcs11:');
  const [pathPart = '', query] = text.slice('pkcs11:'.length).split('?', 2);
  if (query !== undefined) {
    for (const q of query.split('&').filter(Boolean)) {
      const name = q.split('=', 1)[0]!;
      if (name === 'pin-value' || name === 'pin-source') throw new Error(`${name} is not accepted: the PIN is read from SCEPTER_PKCS11_PIN_FILE`);
      if (name === 'module-path' || name === 'module-name') throw new Error(`${name} is not accepted: the module is set with SCEPTER_PKCS11_MODULE`);
      throw new Error(`unknown query attribute ${JSON.stringify(name)}`);
    }
  }
  const uri: Pkcs11Uri = { text };
  for (const part of pathPart.split(';').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`attribute ${JSON.stringify(part)} has no value`);
    const name = part.slice(0, eq);
    const raw = part.slice(eq + 1);
    if (!PATH_ATTRIBUTES.has(name)) throw new Error(`unknown attribute ${JSON.stringify(name)}`);
    const bytes = percentDecode(raw);
    switch (name) {
      case 'id':
        if (!bytes.length) throw new Error('id is empty');
        uri.id = bytes;
        break;
      case 'type':
        if (raw !== 'private') throw new Error(`type must be private (got ${JSON.stringify(raw)})`);
        break;
      case 'token':
      case 'manufacturer':
      case 'model':
      case 'serial':
      case 'object':
        uri[name] = bytes.toString('utf8');
        break;
      default:
        break; // library and slot attributes: one module, tokens are found by label
    }
  }
  if (uri.object === undefined && uri.id === undefined) throw new Error('names no key: add object=<label> and/or id=<hex bytes as %xx>');
  if (uri.token === undefined && uri.serial === undefined) throw new Error('names no token: add token=<label> (or serial=)');
  return uri;
}

/** A URI for another object in the same token (the RA keys beside a CA key). */
export function siblingUri(uri: Pkcs11Uri, object: string): Pkcs11Uri {
  const attrs: [string, string | undefined][] = [
    ['token', uri.token],
    ['manufacturer', uri.manufacturer],
    ['model', uri.model],
    ['serial', uri.serial],
    ['object', object],
  ];
  const text = 'pkcs11:' + attrs.flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${percentEncode(v)}`])).join(';');
  return parsePkcs11Uri(text);
}

/**
 * The URI of a later CA generation's key beside `uri`'s: the label with `suffix` (`-g<n>`) appended
 * (`scepter-ca` when `uri` names only an id), and a CKA_ID of its own, the first 8 bytes of the
 * SHA-1 of that label, so two generations never share a label or an id.
 */
export function generationUri(uri: Pkcs11Uri, suffix: string): Pkcs11Uri {
  const label = `${uri.object ?? 'scepter-ca'}${suffix}`;
  const id = createHash('sha1').update(label).digest().subarray(0, 8);
  const attrs: [string, string | undefined][] = [
    ['token', uri.token],
    ['manufacturer', uri.manufacturer],
    ['model', uri.model],
    ['serial', uri.serial],
    ['object', label],
  ];
  const text =
    'pkcs11:' +
    attrs.flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${percentEncode(v)}`])).join(';') +
    `;id=${[...id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`;
  return parsePkcs11Uri(text);
}

function percentDecode(raw: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`bad percent-encoding at ${JSON.stringify(raw.slice(i, i + 3))}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(out);
}

function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`))
    .join('');
}
