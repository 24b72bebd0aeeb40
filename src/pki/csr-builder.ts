import { createPublicKey, KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from './oids';
import { HashName, signAsync } from './sign';
import { toArrayBuffer, toBuffer } from '../shared/bytes';

const SIG_OID: Record<HashName, string> = {
  sha1: OID.sha1WithRSAEncryption,
  sha256: OID.sha256WithRSAEncryption,
  sha384: OID.sha384WithRSAEncryption,
  sha512: OID.sha512WithRSAEncryption,
};

/** Builds and signs a PKCS#10 request (used by our own SCEP client, tests and benchmarks). */
export async function buildCsr(opts: { subject: pkijs.RelativeDistinguishedNames; key: KeyObject; challengePassword?: string; hash?: HashName }): Promise<Buffer> {
  const hash = opts.hash ?? 'sha256';
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = opts.subject;
  const spki = createPublicKey(opts.key).export({ type: 'spki', format: 'der' });
  csr.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(toArrayBuffer(spki));
  csr.attributes = [];
  if (opts.challengePassword !== undefined) {
    csr.attributes.push(new pkijs.Attribute({ type: OID.challengePassword, values: [new asn1js.PrintableString({ value: opts.challengePassword })] }));
  }
  const alg = new pkijs.AlgorithmIdentifier({ algorithmId: SIG_OID[hash], algorithmParams: new asn1js.Null() });
  csr.signatureAlgorithm = alg;
  // encodeTBS is protected in the typings but is the documented way to get the bytes to sign
  const tbs = new Uint8Array((csr as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false));
  const sig = await signAsync(hash, tbs, opts.key);
  const der = new asn1js.Sequence({ value: [asn1js.fromBER(tbs).result, alg.toSchema(), new asn1js.BitString({ valueHex: toArrayBuffer(sig) })] }).toBER(false);
  return toBuffer(der);
}
