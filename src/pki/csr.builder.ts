import { createPublicKey, KeyObject } from 'node:crypto';
import { DER_NULL, derBitString, derOid, derSequence, tlv } from './der-writer';
import { OID } from './oids';
import { HashName, signAsync } from './sign';

const SIG_OID: Record<HashName, string> = {
  sha1: OID.sha1WithRSAEncryption,
  sha256: OID.sha256WithRSAEncryption,
  sha384: OID.sha384WithRSAEncryption,
  sha512: OID.sha512WithRSAEncryption,
};

/**
 * Builds and signs a PKCS#10 request (RFC 2986), DER (used by our own SCEP client, tests and
 * benchmarks). `subject` is a Name's DER (see buildName()); the challengePassword is a PrintableString.
 */
export async function buildCsr(opts: { subject: Uint8Array; key: KeyObject; challengePassword?: string; hash?: HashName }): Promise<Buffer> {
  const hash = opts.hash ?? 'sha256';
  const spki = createPublicKey(opts.key).export({ type: 'spki', format: 'der' });
  // attributes [0] IMPLICIT SET OF Attribute
  const attributes =
    opts.challengePassword === undefined
      ? tlv(0xa0)
      : tlv(0xa0, derSequence(derOid(OID.challengePassword), tlv(0x31, tlv(0x13, Buffer.from(opts.challengePassword, 'latin1')))));
  const info = derSequence(Buffer.from([0x02, 0x01, 0x00]), opts.subject, spki, attributes);
  const alg = derSequence(derOid(SIG_OID[hash]), DER_NULL);
  return derSequence(info, alg, derBitString(await signAsync(hash, info, opts.key)));
}
