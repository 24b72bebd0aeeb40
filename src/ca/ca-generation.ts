import fs from 'node:fs';
import path from 'node:path';
import { buildCertificate, keyIdentifier } from '../pki/certificate.builder';
import { ParsedCertificate } from '../pki/certificate';
import { pemEncode } from '../pki/der';
import { ConfigError } from '../shared/errors';
import { CaMaterial, CaMaterialOptions, KeyPairIdentity, loadOrCreateCa, randomSerial } from './ca-material';
import { readCertificate } from './ca-material-check';

/**
 * One CA generation: the first CA, or one made by `scepter ca rollover`. Each has its own key,
 * certificate and RA pair (the RA certificates chain to the CA that serves them), and starts issuing
 * at `activateAt`. A later generation carries the two rollover link certificates (RFC 4210 5.3.7's
 * newWithOld and oldWithNew), which let a relying party that trusts either CA reach the other.
 */
export interface CaGeneration {
  generation: number;
  material: CaMaterial;
  activateAt: Date;
  /** SHA-1 key identifier of the CA key (the AKI of what it issues) */
  keyId: Buffer;
  /** this CA's key certified by the previous CA */
  newWithOld?: ParsedCertificate;
  /** the previous CA's key certified by this CA */
  oldWithNew?: ParsedCertificate;
  /** the pkcs11: URI of the CA key when a token holds it (each generation has a key of its own there) */
  keyUri?: string;
}

/** Generation n > 1 keeps its files beside the first CA's, named with this prefix. */
export function generationPrefix(generation: number): string {
  return generation === 1 ? '' : `g${generation}-`;
}

export const LINK_FILES = { newWithOld: 'link-new-with-old.cert.pem', oldWithNew: 'link-old-with-new.cert.pem' };

/** The default subject common name of a later generation: the first CA's with a generation suffix. */
export function generationCommonName(baseCommonName: string, generation: number): string {
  return generation === 1 ? baseCommonName : `${baseCommonName} G${generation}`;
}

export type GenerationOptions = Omit<CaMaterialOptions, 'prefix' | 'commonName'> & { commonName: string };

/**
 * Loads generation `n` (> 1) from the certs directory and checks it against what the database
 * recorded for it; a missing or different file stops the start (named), since certificates and
 * CRLs signed by another key would be worthless.
 */
export async function loadGeneration(
  o: GenerationOptions,
  row: { generation: number; fingerprintSha256: string; subject: string; activateAt: Date; keyUri?: string | null },
): Promise<CaGeneration> {
  const prefix = generationPrefix(row.generation);
  const caFile = path.join(o.dir, `${prefix}ca.cert.pem`);
  // a token key is found by the URI recorded with the generation, a key file by its prefixed name
  const keys = o.keys.forPrefix(prefix, row.keyUri ?? undefined);
  if (!fs.existsSync(caFile) || !keys.has('ca'))
    throw new ConfigError(
      'SCEPTER_CERTS_DIR',
      `CA generation ${row.generation} is recorded in the database but ${caFile} or its key ${keys.where('ca')} is missing (restore them from the backup, or plug in the token)`,
    );
  const onDisk = readCertificate(caFile, fs.readFileSync(caFile, 'utf8'));
  if (onDisk.fingerprintSha256 !== row.fingerprintSha256)
    throw new ConfigError('SCEPTER_CERTS_DIR', `${caFile} is not the CA certificate the database records for generation ${row.generation}`);
  // loadOrCreateCa only loads here (the key exists); with RA on it adds a missing RA pair
  const material = await loadOrCreateCa({ ...o, keys, prefix, commonName: /CN=([^,]+)/.exec(onDisk.subject)?.[1] ?? onDisk.subject });
  const read = (f: string) => {
    const file = path.join(o.dir, `${prefix}${f}`);
    return fs.existsSync(file) ? readCertificate(file, fs.readFileSync(file, 'utf8')) : undefined;
  };
  return {
    generation: row.generation,
    material,
    activateAt: row.activateAt,
    keyId: keyIdentifier(material.ca.certificate.spkiDer),
    newWithOld: read(LINK_FILES.newWithOld),
    oldWithNew: read(LINK_FILES.oldWithNew),
    keyUri: keys.kind === 'pkcs11' ? keys.where('ca') : undefined,
  };
}

/** The first CA as a generation (its material loaded the usual way). */
export function firstGeneration(material: CaMaterial): CaGeneration {
  return { generation: 1, material, activateAt: new Date(0), keyId: keyIdentifier(material.ca.certificate.spkiDer) };
}

/**
 * Creates generation `previous.generation + 1`: a new key and self-signed CA certificate (and RA pair
 * when RA mode is on), then the link certificates, each written next to the first CA's files.
 */
export async function createNextGeneration(o: GenerationOptions, previous: CaGeneration, activateAt: Date, now: Date): Promise<CaGeneration> {
  const generation = previous.generation + 1;
  const prefix = generationPrefix(generation);
  const keys = o.keys.forPrefix(prefix);
  if (keys.has('ca'))
    throw new ConfigError('SCEPTER_CERTS_DIR', `${keys.where('ca')} exists but the database records no generation ${generation}: move it away first`);
  // in a token, the new key is generated there (sensitive, never extractable) under its own label and id
  const material = await loadOrCreateCa({ ...o, keys, prefix });
  const old = previous.material.ca;
  const fresh = material.ca;
  if (fresh.certificate.subjectDer.equals(old.certificate.subjectDer))
    throw new ConfigError('SCEPTER_CA_COMMON_NAME', 'the next CA needs a subject of its own: choose another common name');
  const newWithOld = await linkCertificate(fresh.certificate, old, now);
  const oldWithNew = await linkCertificate(old.certificate, fresh, now);
  fs.writeFileSync(path.join(o.dir, `${prefix}${LINK_FILES.newWithOld}`), pemEncode('CERTIFICATE', newWithOld.der), { mode: 0o644 });
  fs.writeFileSync(path.join(o.dir, `${prefix}${LINK_FILES.oldWithNew}`), pemEncode('CERTIFICATE', oldWithNew.der), { mode: 0o644 });
  const keyUri = keys.kind === 'pkcs11' ? keys.where('ca') : undefined;
  return { generation, material, activateAt, keyId: keyIdentifier(fresh.certificate.spkiDer), newWithOld, oldWithNew, keyUri };
}

/**
 * A link certificate: `subject`'s name and key, issued by `issuer`. It is valid while both CAs are,
 * so it never outlives the CA that signed it nor vouches for a key past its own certificate.
 */
async function linkCertificate(subject: ParsedCertificate, issuer: KeyPairIdentity, now: Date): Promise<ParsedCertificate> {
  const der = await buildCertificate(
    {
      serial: randomSerial(),
      subject: subject.subjectDer,
      issuer: issuer.certificate.subjectDer,
      subjectPublicKeyInfo: subject.spkiDer,
      authorityKeyId: keyIdentifier(issuer.certificate.spkiDer),
      notBefore: new Date(Math.max(now.getTime() - 5 * 60_000, subject.notBefore.getTime(), issuer.certificate.notBefore.getTime())),
      notAfter: new Date(Math.min(subject.notAfter.getTime(), issuer.certificate.notAfter.getTime())),
      ca: true,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    },
    issuer.key,
  );
  return ParsedCertificate.fromDer(der);
}
