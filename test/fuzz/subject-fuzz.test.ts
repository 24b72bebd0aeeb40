import { expect } from 'chai';
import fc from 'fast-check';
import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { PkiStatus } from '../../src/scep/scep.types';
import { ScepClient } from '../../src/scep/client/scep-client';
import { pooledKeys } from '../support/keys';
import { ATTR, atv, nameDer, RawReply, sendRawPkcsReq, tlv } from '../support/raw-scep';
import { TEST_CHALLENGE } from '../support/test-server';
import { createIosCerts, fetchChallenge, IntegrationServer, startIntegrationServer } from '../integration/integrations-support';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_SUBJECT_RUNS ?? 1000);
const INTEGRATION_RUNS = Number(process.env.FUZZ_SUBJECT_INTEGRATION_RUNS ?? 200);

const L = '2.5.4.7';
const ST = '2.5.4.8';
const UID = '0.9.2342.19200300.100.1.1';

/**
 * The oracle: what RFC 5280 and our rules let a signed subject be, written independently of the
 * server's checker (asn1js here). Returns the first violation, or undefined.
 */
const DIRECTORY = [0x0c, 0x13];
const RULES: Record<string, { tags: number[]; max: number }> = {
  [ATTR.CN]: { tags: DIRECTORY, max: 64 },
  [ATTR.O]: { tags: DIRECTORY, max: 64 },
  [ATTR.OU]: { tags: DIRECTORY, max: 64 },
  [ATTR.C]: { tags: [0x13], max: 2 },
  [ATTR.serialNumber]: { tags: [0x13], max: 64 },
  [ATTR.emailAddress]: { tags: [0x16], max: 255 },
  [ATTR.DC]: { tags: [0x16], max: 63 },
  [L]: { tags: DIRECTORY, max: 128 },
  [ST]: { tags: DIRECTORY, max: 128 },
  [UID]: { tags: DIRECTORY, max: 128 },
};

function violation(subjectDer: Buffer, allowed: Set<string>, needCn: boolean): string | undefined {
  const { result, offset } = asn1js.fromBER(new Uint8Array(subjectDer));
  if (offset === -1 || !(result instanceof asn1js.Sequence)) return 'subject is not a SEQUENCE';
  const rdns = result.valueBlock.value;
  if (rdns.length === 0) return 'empty subject';
  let cns = 0;
  for (const rdn of rdns) {
    if (!(rdn instanceof asn1js.Set) || rdn.valueBlock.value.length !== 1) return 'RDN not a single-valued SET';
    const atv = rdn.valueBlock.value[0]!;
    if (!(atv instanceof asn1js.Sequence) || atv.valueBlock.value.length !== 2) return 'bad AttributeTypeAndValue';
    const [type, value] = atv.valueBlock.value as [asn1js.ObjectIdentifier, asn1js.AsnType];
    const oid = type.valueBlock.toString();
    if (!allowed.has(oid) || !RULES[oid]) return `attribute ${oid} not allowed`;
    const tag = value.idBlock.tagNumber | (value.idBlock.tagClass === 1 ? 0 : 0x100);
    if (!RULES[oid].tags.includes(tag)) return `attribute ${oid} with tag ${tag}`;
    // contents octets: the whole TLV as decoded, without its identifier and length octets
    const bytes = Buffer.from(value.valueBeforeDecodeView).subarray(value.idBlock.blockLength + value.lenBlock.blockLength);
    const text = tag === 0x0c ? bytes.toString('utf8') : bytes.toString('latin1');
    if (tag === 0x0c && !Buffer.from(text, 'utf8').equals(bytes)) return 'invalid UTF-8';
    if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) return 'control character';
    if (tag === 0x13 && !/^[A-Za-z0-9 '()+,\-./:=?]+$/.test(text)) return 'PrintableString charset';
    if (tag === 0x16 && /[^\x20-\x7e]/.test(text)) return 'IA5String charset';
    const length = Array.from(text).length; // characters (code points)
    if (length === 0 || length > RULES[oid].max) return `attribute ${oid} of length ${length}`;
    if (oid === ATTR.C && !/^[A-Za-z]{2}$/.test(text)) return 'C not two letters';
    if (oid === ATTR.CN) cns++;
  }
  if (needCn && cns !== 1) return `${cns} CNs`;
  return undefined;
}

// hostile pieces: control characters, string types nobody should sign, oversized and odd values
const controls = fc.constantFrom('\u0000', '\r', '\n', '\r\n', '\t', '\u001b', '\u007f', '\u0085', '\u009b');
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 70 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 70 }) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 20 }), controls, fc.string({ maxLength: 20 })).map(([a, c, b]) => a + c + b) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 300 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('US', 'USA', 'a@example.com', 'example', 'dev-1', '') },
);
const oid = fc.constantFrom(
  ATTR.CN,
  ATTR.CN,
  ATTR.O,
  ATTR.OU,
  ATTR.C,
  ATTR.serialNumber,
  ATTR.emailAddress,
  ATTR.DC,
  ATTR.title,
  L,
  ST,
  UID,
  '1.2.3.4',
  '2.5.4.3.1',
);
const tag = fc.constantFrom(0x0c, 0x0c, 0x0c, 0x13, 0x13, 0x16, 0x1e, 0x14, 0x1c, 0x12, 0x04, 0x02, 0x30);
const attribute = fc.tuple(oid, tag, text).map(([o, t, v]) => atv(o, t, v));
const rdn = fc.oneof({ weight: 9, arbitrary: attribute }, { weight: 1, arbitrary: fc.array(attribute, { minLength: 2, maxLength: 3 }) });
const plainCn = fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));

/** Subjects for /scep: random names, near-valid ones with one hostile attribute, raw garbage. */
const defaultSubject = fc.oneof(
  { weight: 5, arbitrary: fc.array(rdn, { maxLength: 5 }).map((rdns) => nameDer(...rdns)) },
  {
    weight: 4,
    arbitrary: fc.tuple(plainCn, fc.option(rdn, { nil: undefined })).map(([cn, extra]) => nameDer(atv(ATTR.CN, 0x0c, cn), ...(extra ? [extra] : []))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map((b) => tlv(0x30, Buffer.from(b))) },
);

/**
 * Hostile subjects against the real server: every answer is a signed CertRep (never an HTTP 500),
 * and every certificate it issues has a subject the oracle accepts and X509Certificate reads.
 */
describe(`fuzz: hostile CSR subjects (${RUNS} + ${INTEGRATION_RUNS} inputs, seed ${SEED})`, function () {
  this.timeout(600_000);
  let server: IntegrationServer;
  before(async () => {
    server = await startIntegrationServer({ SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE });
  });
  after(async () => server.destroy());

  const check = (r: RawReply, subject: Buffer, allowed: Set<string>, needCn: boolean): string | undefined => {
    if (r.httpStatus !== 200) return `HTTP ${r.httpStatus}`;
    if (r.status === PkiStatus.FAILURE) return r.certificates.length ? 'FAILURE with a certificate' : undefined;
    if (r.status !== PkiStatus.SUCCESS) return `pkiStatus ${r.status}`;
    const cert = r.certificates[0]!;
    try {
      new X509Certificate(cert.der);
    } catch {
      return 'X509Certificate cannot read the certificate';
    }
    if (!cert.subjectDer.equals(subject)) return 'subject changed';
    const why = violation(cert.subjectDer, allowed, needCn);
    return why && `signed a subject with ${why}`;
  };

  it('/scep: never a 500, never a certificate whose subject breaks the rules', async () => {
    const scepUrl = `${server.url}/scep`;
    const cas = await new ScepClient(scepUrl).getCaCertificates();
    const [key] = await pooledKeys(1);
    const subjects = fc.sample(defaultSubject, { numRuns: RUNS, seed: SEED });
    const allowed = new Set([ATTR.CN, ATTR.O, ATTR.OU, ATTR.C, ATTR.serialNumber, ATTR.emailAddress, ATTR.DC, L, ST, UID]);
    const problems: string[] = [];
    let issued = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < subjects.length) {
          const i = next++;
          const s = subjects[i]!;
          const r = await sendRawPkcsReq(scepUrl, cas, s, key, TEST_CHALLENGE, `subject-fuzz-${i}`);
          if (r.status === PkiStatus.SUCCESS) issued++;
          const p = check(r, s, allowed, true);
          if (p) problems.push(`${p}: ${s.toString('hex')}`);
        }
      }),
    );
    console.log(`      issued ${issued} of ${RUNS}`);
    expect(problems.slice(0, 5)).to.deep.equal([]);
    // the generator reaches both sides of the rules
    expect(issued).to.be.above(0).and.below(RUNS);
  });

  it('integration: never a 500, only the template attributes, never a rule-breaking subject', async () => {
    const integ = await createIosCerts(server, 'fuzzed');
    const url = `${server.url}/scep/${integ.id}`;
    const cas = await new ScepClient(url).getCaCertificates();
    const [key] = await pooledKeys(1);
    const ou = atv(ATTR.OU, 0x0c, integ.id);
    const integrationSubject = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.tuple(fc.option(rdn, { nil: undefined }), text).map(([extra, cn]) => nameDer(ou, atv(ATTR.CN, 0x0c, cn), ...(extra ? [extra] : []))),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(fc.option(rdn, { nil: undefined }), plainCn).map(([extra, cn]) => nameDer(ou, atv(ATTR.CN, 0x0c, cn), ...(extra ? [extra] : []))),
      },
      { weight: 1, arbitrary: fc.array(rdn, { maxLength: 4 }).map((rdns) => nameDer(ou, ...rdns)) },
    );
    const subjects = fc.sample(integrationSubject, { numRuns: INTEGRATION_RUNS, seed: SEED + 1 });
    const allowed = new Set([ATTR.CN, ATTR.OU]);
    const problems: string[] = [];
    let issued = 0;
    for (const [i, s] of subjects.entries()) {
      const r = await sendRawPkcsReq(url, cas, s, key, await fetchChallenge(server, integ), `integration-fuzz-${i}`);
      if (r.status === PkiStatus.SUCCESS) issued++;
      const p = check(r, s, allowed, true);
      if (p) problems.push(`${p}: ${s.toString('hex')}`);
    }
    console.log(`      issued ${issued} of ${INTEGRATION_RUNS}`);
    expect(problems.slice(0, 5)).to.deep.equal([]);
    expect(issued).to.be.above(0).and.below(INTEGRATION_RUNS);
  });
});
