import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { derExplicit, derSequence, derOid, DER_NULL, derOctetString, derIntegerFromHex } from '../../../src/pki/der-writer';
import {
  buildOcspError,
  buildOcspResponse,
  certIdFor,
  encodeCertId,
  issuerMatches,
  OcspMalformedError,
  parseOcspRequest,
  type BuildOcspResponseInput,
  type OcspCertId,
} from '../../../src/pki/ocsp.codec';
import { Asn1DecodeError } from '../../../src/pki/pki.errors';
import { decodeOid, DerDecodeError } from '../../../src/pki/der-reader';
import { readCertificateFields } from '../../../src/pki/certificate';
import { makeRevocationPki, openssl, type RevocationPki } from './revocation-pki.fixture';
import { flipBits } from '../../support/mutations';

describe('pki/ocsp.codec', function () {
  this.timeout(60_000);
  let pki: RevocationPki;
  let seq = 0;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const revokedAt = new Date(now.getTime() - 3_600_000);
  const nextUpdate = new Date(now.getTime() + 3_600_000);

  before(() => {
    pki = makeRevocationPki();
  });
  after(() => pki?.cleanup());

  const file = (name: string): string => join(pki.dir, name);

  /** `openssl ocsp -reqout` for the given leaves; returns the request DER. */
  function opensslRequest(leafPems: string[], extra: string[] = []): Buffer {
    const out = `req-${++seq}.der`;
    // openssl wants the digest option before the -cert options it applies to.
    const args = ['ocsp', '-issuer', 'ca.pem', ...extra, ...leafPems.flatMap((p) => ['-cert', p]), '-reqout', out];
    const r = openssl(args, { cwd: pki.dir });
    expect(r.code, r.out).to.equal(0);
    return readFileSync(file(out));
  }

  function writeResponse(der: Buffer): string {
    const name = `resp-${++seq}.der`;
    writeFileSync(file(name), der);
    return name;
  }

  /** `openssl ocsp -respin` checking the signature against ca.pem and printing each leaf's status. */
  function checkStatuses(respFile: string, leafPems: string[], hashArgs: string[] = []): string {
    // -no_nonce: with -cert, openssl builds a request of its own whose nonce we could not have echoed.
    const args = ['ocsp', '-respin', respFile, '-issuer', 'ca.pem', '-CAfile', 'ca.pem', '-no_nonce', '-resp_text'];
    const r = openssl([...args, ...hashArgs, ...leafPems.flatMap((p) => ['-cert', p])], { cwd: pki.dir });
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.contain('Response verify OK');
    return r.out;
  }

  function baseInput(overrides: Partial<BuildOcspResponseInput>): BuildOcspResponseInput {
    return {
      responderCertDer: pki.ca.der,
      responderKey: pki.ca.key,
      issuerCertDer: pki.ca.der,
      producedAt: now,
      responses: [],
      ...overrides,
    };
  }

  describe('parseOcspRequest', () => {
    it('reads an openssl request: SHA-1 CertIDs, serials as openssl prints them, the nonce', () => {
      const req = parseOcspRequest(opensslRequest([pki.leaves.revoked.pem, pki.leaves.highBit.pem]));
      expect(req.requests.map((r) => r.serialHex)).to.deep.equal(['1001', '8F3A5C7E9B1D2F40']);
      for (const r of req.requests) {
        expect(r.hashAlgorithm).to.equal('sha1');
        expect(issuerMatches(r, pki.ca.der)).to.equal(true);
        const expected = certIdFor(pki.ca.der, r.serialHex);
        expect(r.issuerNameHash.equals(expected.issuerNameHash)).to.equal(true);
        expect(r.issuerKeyHash.equals(expected.issuerKeyHash)).to.equal(true);
      }
      // openssl wraps a 16-byte random value in an OCTET STRING inside extnValue; we keep extnValue as is.
      expect(req.nonce).to.have.length(18);
      expect(req.nonce!.subarray(0, 2).toString('hex')).to.equal('0410');
    });

    it('reads SHA-256 CertIDs and requests without a nonce', () => {
      const req = parseOcspRequest(opensslRequest([pki.leaves.good.pem], ['-sha256', '-no_nonce']));
      expect(req.nonce).to.equal(undefined);
      expect(req.requests).to.have.length(1);
      expect(req.requests[0]!.hashAlgorithm).to.equal('sha256');
      expect(req.requests[0]!.issuerNameHash).to.have.length(32);
      expect(issuerMatches(req.requests[0]!, pki.ca.der)).to.equal(true);
      expect(issuerMatches(req.requests[0]!, pki.otherCa.der)).to.equal(false);
    });

    it('tells another CA’s certificate apart (issuerMatches false, sha1 and sha256)', () => {
      // The other CA's leaf has the same serial (1001) as our revoked leaf: only the issuer hashes differ.
      for (const hash of [[], ['-sha256']]) {
        const r = openssl(['ocsp', '-issuer', 'other-ca.pem', ...hash, '-cert', 'other-leaf.pem', '-reqout', 'other.der'], { cwd: pki.dir });
        expect(r.code, r.out).to.equal(0);
        const [certId] = parseOcspRequest(readFileSync(file('other.der'))).requests;
        expect(certId!.serialHex).to.equal('1001');
        expect(issuerMatches(certId!, pki.ca.der)).to.equal(false);
        expect(issuerMatches(certId!, pki.otherCa.der)).to.equal(true);
      }
      // Same name but another key (or the reverse) does not match either.
      const mixed: OcspCertId = { ...certIdFor(pki.ca.der, '01'), issuerKeyHash: certIdFor(pki.otherCa.der, '01').issuerKeyHash };
      expect(issuerMatches(mixed, pki.ca.der)).to.equal(false);
    });

    function expectMalformed(der: Uint8Array, why?: RegExp): void {
      let error: unknown;
      try {
        parseOcspRequest(der);
      } catch (e) {
        error = e;
      }
      expect(error, `parsed ${Buffer.from(der).toString('hex').slice(0, 80)}`).to.be.instanceOf(OcspMalformedError);
      expect(error).to.be.instanceOf(Asn1DecodeError);
      if (why) expect((error as Error).message).to.match(why);
    }

    const certId = (): Buffer =>
      derSequence(
        derSequence(derOid('1.3.14.3.2.26'), DER_NULL),
        derOctetString(Buffer.alloc(20, 1)),
        derOctetString(Buffer.alloc(20, 2)),
        derIntegerFromHex('05'),
      );

    it('refuses garbage, empty input and non-requests with OcspMalformedError', () => {
      expectMalformed(Buffer.alloc(0));
      expectMalformed(Buffer.from('hello, this is not DER'));
      expectMalformed(randomBytes(300));
      expectMalformed(Buffer.from([0x30, 0x00]));
      expectMalformed(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]));
      expectMalformed(pki.ca.der); // a certificate is a SEQUENCE too
      expectMalformed(Buffer.from('3080300030000000', 'hex'), /unexpected fields/); // BER is read; this one holds two SEQUENCEs
      expectMalformed(Buffer.from('30803000', 'hex'), /end-of-contents/);
      expectMalformed(Buffer.from('3f0100', 'hex'));
    });

    it('refuses every truncation and trailing bytes of a real request', () => {
      const good = opensslRequest([pki.leaves.revoked.pem, pki.leaves.good.pem]);
      for (let len = 0; len < good.length; len++) expectMalformed(good.subarray(0, len));
      expectMalformed(Buffer.concat([good, Buffer.from([0])]));
    });

    it('never throws anything but OcspMalformedError on corrupted requests', () => {
      const good = opensslRequest([pki.leaves.revoked.pem]);
      for (let i = 0; i < 3000; i++) {
        const bad = Buffer.from(good);
        for (let k = 0; k < 1 + (i % 3); k++) flipBits(bad, (i * 7919 + k * 104729) % bad.length, 1 + ((i + k) % 255));
        try {
          parseOcspRequest(bad);
        } catch (e) {
          expect(e, String(e)).to.be.instanceOf(OcspMalformedError);
          // A cause means something other than a decoding check failed (a TypeError: a bug).
          expect((e as Error).cause, String((e as Error).cause)).to.equal(undefined);
        }
      }
    });

    it('refuses an empty request list, bad hash lengths, unknown hashes and bad versions', () => {
      expectMalformed(derSequence(derSequence(derSequence())), /empty requestList/);
      const one = (id: Buffer): Buffer => derSequence(derSequence(derSequence(derSequence(id))));
      expect(parseOcspRequest(one(certId())).requests[0]!.serialHex).to.equal('05');
      const md5 = derSequence(
        derSequence(derOid('1.2.840.113549.2.5'), DER_NULL),
        derOctetString(Buffer.alloc(16)),
        derOctetString(Buffer.alloc(16)),
        derIntegerFromHex('05'),
      );
      expectMalformed(one(md5), /unsupported CertID hash/);
      const short = derSequence(
        derSequence(derOid('1.3.14.3.2.26'), DER_NULL),
        derOctetString(Buffer.alloc(19)),
        derOctetString(Buffer.alloc(20)),
        derIntegerFromHex('05'),
      );
      expectMalformed(one(short), /hash lengths/);
      const v2 = derSequence(derSequence(derExplicit(0, derIntegerFromHex('01')), derSequence(derSequence(certId()))));
      expectMalformed(v2, /version/);
      const v1 = derSequence(derSequence(derExplicit(0, derIntegerFromHex('00')), derSequence(derSequence(certId()))));
      expect(parseOcspRequest(v1).requests).to.have.length(1);
    });

    it('takes nonces of 1 to 128 bytes (RFC 9654) and refuses an empty or longer one', () => {
      const withNonce = (extnValue: Buffer): Buffer =>
        derSequence(
          derSequence(derSequence(derSequence(certId())), derExplicit(2, derSequence(derSequence(derOid('1.3.6.1.5.5.7.48.1.2'), derOctetString(extnValue))))),
        );
      for (const n of [1, 16, 32, 128]) expect(parseOcspRequest(withNonce(derOctetString(randomBytes(n)))).nonce).to.have.length(n + (n < 128 ? 2 : 3));
      expect(parseOcspRequest(withNonce(randomBytes(20).fill(1, 0, 1))).nonce).to.have.length(20); // bare bytes, as some old clients send them
      expectMalformed(withNonce(derOctetString(Buffer.alloc(0))), /nonce of 0 bytes/);
      expectMalformed(withNonce(derOctetString(randomBytes(129))), /nonce of 129 bytes/);
      expectMalformed(withNonce(Buffer.alloc(0)), /nonce of 0 bytes/);
      expectMalformed(withNonce(Buffer.alloc(200, 1)), /nonce of 200 bytes/);
    });

    it('limits the number of CertIDs in one request', () => {
      const many = derSequence(derSequence(derSequence(...Array.from({ length: 101 }, () => derSequence(certId())))));
      expectMalformed(many, /more than 100/);
      expect(parseOcspRequest(many, { maxRequests: 200 }).requests).to.have.length(101);
    });
  });

  describe('buildOcspResponse', () => {
    it('CA-signed: good, revoked (time and reason) and unknown, as openssl reads them', async () => {
      const leaves = [pki.leaves.revoked.pem, pki.leaves.good.pem, pki.leaves.highBit.pem];
      const req = parseOcspRequest(opensslRequest(leaves));
      const [revoked, good, unknown] = req.requests;
      const der = await buildOcspResponse(
        baseInput({
          nonce: req.nonce,
          responses: [
            { certId: revoked!, status: { revokedAt, reason: 'keyCompromise' }, thisUpdate: now, nextUpdate },
            { certId: good!, status: 'good', thisUpdate: now, nextUpdate },
            { certId: unknown!, status: 'unknown', thisUpdate: now },
          ],
        }),
      );
      const out = checkStatuses(writeResponse(der), leaves);
      expect(out).to.contain('Responder Id: C = US, O = Scepter Test, CN = Revocation Test CA');
      expect(out).to.match(/leaf-revoked\.pem: revoked\n\tThis Update: .*\n\tNext Update: .*\n\tReason: keyCompromise\n\tRevocation Time: /);
      expect(out).to.contain('leaf-good.pem: good');
      expect(out).to.contain('leaf-highbit.pem: unknown');
      expect(out).to.contain('Signature Algorithm: sha256WithRSAEncryption');
      const revocationLine = /Revocation Time: (.*GMT)/.exec(out)![1]!;
      expect(new Date(revocationLine).getTime()).to.equal(revokedAt.getTime());
    });

    it('echoes the nonce: openssl checks it against its own request (-reqin)', async () => {
      const reqDer = opensslRequest([pki.leaves.good.pem]);
      const req = parseOcspRequest(reqDer);
      writeFileSync(file('nonce-req.der'), reqDer);
      const respond = async (nonce?: Buffer): Promise<string> => {
        const der = await buildOcspResponse(baseInput({ nonce, responses: [{ certId: req.requests[0]!, status: 'good', thisUpdate: now }] }));
        return openssl(['ocsp', '-reqin', 'nonce-req.der', '-respin', writeResponse(der), '-issuer', 'ca.pem', '-CAfile', 'ca.pem', '-resp_text'], {
          cwd: pki.dir,
        }).out;
      };
      const echoed = await respond(req.nonce);
      expect(echoed).to.contain('Response verify OK');
      expect(echoed).to.contain(`OCSP Nonce: \n            ${req.nonce!.toString('hex').toUpperCase()}`);
      expect(echoed).to.not.match(/Nonce Verify error|no nonce in response/);
      // Control: openssl does notice a wrong or missing nonce.
      expect(await respond(Buffer.from('0410' + '00'.repeat(16), 'hex'))).to.contain('Nonce Verify error');
      expect(await respond(undefined)).to.contain('WARNING: no nonce in response');
    });

    it('delegated signer: openssl accepts it with only the CA trusted', async () => {
      const leaves = [pki.leaves.revoked.pem, pki.leaves.good.pem];
      const req = parseOcspRequest(opensslRequest(leaves, ['-sha256']));
      const der = await buildOcspResponse(
        baseInput({
          responderCertDer: pki.ocspSigner.der,
          responderKey: pki.ocspSigner.key,
          extraCerts: [pki.ocspSigner.der],
          nonce: req.nonce,
          responses: [
            { certId: req.requests[0]!, status: { revokedAt, reason: 'superseded' }, thisUpdate: now, nextUpdate },
            { certId: req.requests[1]!, status: 'good', thisUpdate: now, nextUpdate },
          ],
        }),
      );
      const out = checkStatuses(writeResponse(der), leaves, ['-sha256']);
      expect(out).to.contain('Responder Id: CN = ocsp');
      expect(out).to.contain('Hash Algorithm: sha256');
      expect(out).to.match(/leaf-revoked\.pem: revoked\n(\t.*\n)*\tReason: superseded/);
      expect(out).to.contain('leaf-good.pem: good');
      expect(out).to.contain('OCSP No Check');
    });

    it('responder ID by key, and a revoked answer without a reason for "unspecified"', async () => {
      const certId = certIdFor(pki.ca.der, pki.leaves.revoked.serialHex);
      const der = await buildOcspResponse(
        baseInput({
          responderCertDer: pki.ocspSigner.der,
          responderKey: pki.ocspSigner.key,
          extraCerts: [pki.ocspSigner.der],
          responderIdByKey: true,
          responses: [{ certId, status: { revokedAt, reason: 'unspecified' }, thisUpdate: now }],
        }),
      );
      const out = checkStatuses(writeResponse(der), [pki.leaves.revoked.pem]);
      expect(out).to.match(/Responder Id: [0-9A-F]{40}\n/);
      expect(out).to.match(/leaf-revoked\.pem: revoked\n\tThis Update: .*\n\tRevocation Time: /);
      expect(out).to.not.contain('Reason:');
    });

    it('a signature by the wrong key fails openssl verification (control)', async () => {
      const certId = certIdFor(pki.ca.der, pki.leaves.good.serialHex);
      const der = await buildOcspResponse(baseInput({ responderKey: pki.otherCa.key, responses: [{ certId, status: 'good', thisUpdate: now }] }));
      const r = openssl(['ocsp', '-respin', writeResponse(der), '-issuer', 'ca.pem', '-CAfile', 'ca.pem', '-no_nonce', '-cert', pki.leaves.good.pem], {
        cwd: pki.dir,
      });
      expect(r.out).to.contain('Response Verify Failure');
    });

    it('refuses to vouch for another CA’s certificate, but may call it unknown', async () => {
      const foreign = certIdFor(pki.otherCa.der, pki.otherLeaf.serialHex);
      let error: unknown;
      await buildOcspResponse(baseInput({ responses: [{ certId: foreign, status: 'good', thisUpdate: now }] })).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(RangeError);
      const der = await buildOcspResponse(baseInput({ responses: [{ certId: foreign, status: 'unknown', thisUpdate: now }] }));
      const r = openssl(['ocsp', '-respin', writeResponse(der), '-resp_text', '-noverify'], { cwd: pki.dir });
      expect(r.out).to.contain('Cert Status: unknown');
    });

    it('re-encodes a CertID built by certIdFor exactly as openssl does', () => {
      const req = parseOcspRequest(opensslRequest([pki.leaves.highBit.pem], ['-no_nonce']));
      const built = certIdFor(pki.ca.der, pki.leaves.highBit.serialHex);
      expect(encodeCertId(built).equals(req.requests[0]!.der!)).to.equal(true);
    });
  });

  describe('DER reading helpers', () => {
    it('decodes OIDs the writer encodes, including large arcs', () => {
      for (const oid of ['1.3.14.3.2.26', '2.16.840.1.101.3.4.2.1', '1.3.6.1.5.5.7.48.1.2', '2.999.3', '0.9.2342.19200300.100.1.25']) {
        expect(decodeOid(derOid(oid).subarray(2))).to.equal(oid);
      }
      expect(() => decodeOid(Buffer.from([0x2b, 0x86]))).to.throw(DerDecodeError);
    });

    it('reads the issuer fields OCSP and CRLs need, and refuses a non-certificate', () => {
      const fields = readCertificateFields(pki.ca.der);
      const text = openssl(['x509', '-in', 'ca.pem', '-noout', '-ext', 'subjectKeyIdentifier'], { cwd: pki.dir }).out;
      expect(fields.keyIdentifier.toString('hex').toUpperCase()).to.equal(/([0-9A-F:]{59})/.exec(text)![1]!.replace(/:/g, ''));
      expect(fields.subjectDer[0]).to.equal(0x30);
      expect(() => readCertificateFields(Buffer.from('300a0201', 'hex'))).to.throw(RangeError);
      expect(() => readCertificateFields(opensslRequest([pki.leaves.good.pem]))).to.throw(RangeError);
    });
  });

  describe('buildOcspError', () => {
    for (const [status, code] of [
      ['malformedRequest', 1],
      ['internalError', 2],
      ['tryLater', 3],
      ['unauthorized', 6],
    ] as const) {
      it(`${status}: an OCSPResponse without responseBytes`, () => {
        const der = buildOcspError(status);
        expect(der.toString('hex')).to.equal(`30030a010${code}`);
        const r = openssl(['ocsp', '-respin', writeResponse(der), '-resp_text'], { cwd: pki.dir });
        expect(r.out).to.contain(`Responder Error: ${status.toLowerCase()} (${code})`);
      });
    }
  });
});
