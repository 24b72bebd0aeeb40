import { expect } from 'chai';
import { startTestServer, TestServer, TEST_CHALLENGE } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { ScepClient, newRsaKey, selfSignedFor } from '../../src/scep/client/scep-client';
import { buildName } from '../../src/pki/names';
import { MessageType, PkiStatus } from '../../src/scep/scep.types';
import { randomBytes } from 'node:crypto';
import { attribute, buildSignedData, contentInfo } from '../../src/pki/cms-signed-data';
import { DER_NULL, derOctetString, derOid, derSequence, tlv } from '../../src/pki/der-writer';
import { OID } from '../../src/pki/oids';
import { challengeAttribute, rawCsrWithAttributes, selfSigned, sendPkiMessage, utf8Name } from '../support/raw-scep';
import { FailInfo } from '../../src/scep/scep.types';

describe('SCEP bad input: a short 400, never a stack trace, and the server keeps serving', function () {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.destroy());

  async function expect400(res: Response, reason: RegExp, status = 400) {
    const text = await res.text();
    expect(res.status, text).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    expect(text).to.match(reason);
    expect(text).to.not.match(/\bat \S+ \(|Error:|node_modules/);
    expect(text.length).to.be.below(200);
  }
  const post = (body: Uint8Array | string, type = 'application/x-pki-message') =>
    fetch(`${server.scepUrl}?operation=PKIOperation`, { method: 'POST', body: new Blob([body as BlobPart]), headers: { 'Content-Type': type } });

  it('garbage bytes', async () => expect400(await post(new Uint8Array([0x30, 0x03, 0x02, 0x01])), /malformed|trailing/));
  it('random binary that is not DER', async () => expect400(await post(new Uint8Array([0xff, 0x00, 0x12, 0x99])), /neither DER nor base64/));
  it('an empty body', async () => expect400(await post(new Uint8Array()), /empty/));
  it('a wrong content type', async () => expect400(await post('{}', 'application/json'), /content type/));
  it('an unknown or missing operation', async () => {
    await expect400(await fetch(`${server.scepUrl}?operation=Frobnicate`), /unknown operation/);
    await expect400(await fetch(`${server.scepUrl}`), /missing operation/);
  });
  it('GET without a message, or with one that is not base64', async () => {
    await expect400(await fetch(`${server.scepUrl}?operation=PKIOperation`), /missing message/);
    await expect400(await fetch(`${server.scepUrl}?operation=PKIOperation&message=%%%`), /percent|base64/);
  });
  it('a body over 64 KiB: 413', async () => expect400(await post(new Uint8Array(64 * 1024 + 1).fill(0x30)), /too large/, 413));
  it('a method other than GET or POST: 405 with Allow', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${server.scepUrl}?operation=GetCACaps`, { method });
      expect(res.headers.get('allow')).to.equal('GET, POST');
      await expect400(res, /SCEP takes GET or POST/, 405);
    }
  });

  it('every truncation of a valid request', async () => {
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const req = await server.client.preparePkcsReq({ cas, subject: [{ type: 'CN', value: 'trunc' }], challenge: TEST_CHALLENGE, key });
    for (const cut of [1, 2, 10, 100, Math.floor(req.der.length / 2), req.der.length - 1]) {
      await expect400(await post(req.der.subarray(0, cut)), /malformed|trailing|not a DER/);
    }
  });

  it('a request encrypted to another CA', async () => {
    const otherKey = await newRsaKey();
    const otherCa = await selfSignedFor(otherKey, buildName([{ type: 'CN', value: 'Some Other CA' }]));
    const [key] = await pooledKeys(1);
    const req = await server.client.preparePkcsReq({
      cas: { ca: otherCa, recipient: otherCa },
      subject: [{ type: 'CN', value: 'x' }],
      challenge: TEST_CHALLENGE,
      key,
    });
    await expect400(await post(req.der), /not encrypted to this CA/);
  });

  it('a key transport that is no RSA ciphertext of the CA key: not below its modulus, or longer', async () => {
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const signer = await selfSigned(key);
    const modulus = Buffer.from(cas.recipient.publicKey.export({ format: 'jwk' }).n!, 'base64url');
    const version = Buffer.from([0x02, 0x01, 0x00]);
    for (const encryptedKey of [Buffer.alloc(modulus.length, 0xff), modulus, Buffer.alloc(modulus.length + 1, 0x01), Buffer.alloc(20_000, 0x7f)]) {
      const recipientInfo = derSequence(
        version,
        derSequence(cas.recipient.issuerDer, cas.recipient.serialDer),
        derSequence(derOid(OID.rsaEncryption), DER_NULL),
        derOctetString(encryptedKey),
      );
      const content = derSequence(derOid(OID.data), derSequence(derOid(OID.aes256Cbc), derOctetString(randomBytes(16))), tlv(0x80, randomBytes(32)));
      const der = await buildSignedData({
        content: contentInfo(OID.envelopedData, derSequence(version, tlv(0x31, recipientInfo), content)),
        signerCert: signer.certificate,
        signerKey: key,
        digest: 'sha256',
        certificates: [signer.certificate],
        attributes: [
          attribute(OID.scepTransactionId, tlv(0x13, Buffer.from(randomBytes(8).toString('hex'), 'latin1'))),
          attribute(OID.scepMessageType, tlv(0x13, Buffer.from(String(MessageType.PKCSReq), 'latin1'))),
          attribute(OID.scepSenderNonce, derOctetString(randomBytes(16))),
        ],
      });
      await expect400(await post(der), /not encrypted to this CA/);
      // (the 20,000-byte one makes a URL over the header limit: 431, tested elsewhere)
      if (encryptedKey.length <= modulus.length + 1)
        await expect400(
          await fetch(`${server.scepUrl}?operation=PKIOperation&message=${encodeURIComponent(der.toString('base64'))}`),
          /not encrypted to this CA/,
        );
    }
  });

  it('a CSR with the challenge twice, or two values in it, one of them right: a signed badRequest, nothing issued', async () => {
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const subject = utf8Name(['2.5.4.3', 'two-challenges']);
    for (const [attrs, reason] of [
      [[challengeAttribute(TEST_CHALLENGE, 'wrong')], /exactly one value/],
      [[challengeAttribute('wrong', TEST_CHALLENGE)], /exactly one value/],
      [[challengeAttribute(TEST_CHALLENGE), challengeAttribute('wrong')], /appears more than once/],
    ] as const) {
      const r = await sendPkiMessage(
        server.scepUrl,
        cas,
        MessageType.PKCSReq,
        rawCsrWithAttributes(subject, key, [...attrs]),
        await selfSigned(key),
        `two-${randomBytes(4).toString('hex')}`,
      );
      expect(r.status).to.equal(PkiStatus.FAILURE);
      expect(r.failInfo).to.equal(FailInfo.badRequest);
      expect(r.failText).to.match(reason);
      expect(r.certificates).to.have.length(0);
    }
  });

  it('still enrolls after all of that', async () => {
    const cas = await server.client.getCaCertificates();
    const [key] = await pooledKeys(1);
    const r = await new ScepClient(server.scepUrl).enroll({
      cas,
      subject: [{ type: 'CN', value: 'after' }],
      challenge: TEST_CHALLENGE,
      key,
      transactionId: 'after-bad-input',
    });
    expect(r.status).to.equal(PkiStatus.SUCCESS);
  });

  it('answers 404 on /scep when no static challenge is configured', async () => {
    const s2 = await startTestServer({ SCEPTER_STATIC_CHALLENGE: '' });
    try {
      const res = await fetch(`${s2.scepUrl}?operation=GetCACaps`);
      expect(res.status).to.equal(404);
    } finally {
      await s2.destroy();
    }
  });
});
