import { expect } from 'chai';
import { constants, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { encryptKeyPkcs1, RsaKeyTransport } from '../../../src/pki/rsa-key-transport';
import { contentCipherByOid, decryptContent, encryptContent } from '../../../src/pki/content-cipher';
import { OID } from '../../../src/pki/oids';
import { PkiInputError } from '../../../src/pki/pki.errors';
import { SoftwareKey } from '../../../src/pki/private-key';

describe('pki/rsa-key-transport: PKCS#1 v1.5 without Node’s refused private decryption', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const transport = new RsaKeyTransport(randomBytes(32));

  it('recovers keys of every content-cipher length', () => {
    for (const len of [8, 16, 24, 32]) {
      const cek = randomBytes(len);
      expect(transport.decrypt(privateKey, encryptKeyPkcs1(publicKey, cek), len).equals(cek)).to.equal(true);
    }
  });

  it('implicit rejection: a wrong length or bad padding yields a deterministic synthetic key, never an error', () => {
    const ct = encryptKeyPkcs1(publicKey, randomBytes(16));
    const a = transport.decrypt(privateKey, ct, 32);
    const b = transport.decrypt(privateKey, ct, 32);
    expect(a.equals(b)).to.equal(true);
    expect(a).to.have.length(32);
    // raw RSA of random bytes: no valid 00 02 padding
    const raw = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.from([0]), randomBytes(255)]));
    expect(() => transport.decrypt(privateKey, raw, 16)).to.not.throw();
    // another secret gives another synthetic key, so it reveals nothing stable to an attacker
    expect(new RsaKeyTransport(randomBytes(32)).decrypt(privateKey, ct, 32).equals(a)).to.equal(false);
  });

  it('refuses, as a bad request, a ciphertext not below the modulus or longer than it, before the private operation', async () => {
    const n = Buffer.from(publicKey.export({ format: 'jwk' }).n!, 'base64url');
    const nMinus1 = Buffer.from(n);
    nMinus1[n.length - 1]! -= 1;
    const soft = new SoftwareKey(privateKey);
    for (const c of [n, Buffer.alloc(n.length, 0xff), Buffer.concat([Buffer.alloc(1), n]), Buffer.alloc(n.length + 1, 0x01)]) {
      expect(() => transport.decrypt(privateKey, c, 16)).to.throw(PkiInputError, /not encrypted to this CA/);
      let refused: unknown;
      await transport.decryptAsync(soft, c, 16).catch((err: unknown) => (refused = err));
      expect(refused).to.be.instanceOf(PkiInputError);
    }
    // the largest valid value, and a shorter ciphertext, still go through (implicit rejection, no error)
    expect(transport.decrypt(privateKey, nMinus1, 16)).to.have.length(16);
    expect(await transport.decryptAsync(soft, Buffer.from([1, 2, 3]), 16)).to.have.length(16);
  });
});

describe('pki/content-cipher', () => {
  it('single DES through DES-EDE3 with K|K|K matches the FIPS 81 known answer', () => {
    // FIPS 81 / classic DES test: key 133457799BBCDFF1, block 0123456789ABCDEF -> 85E813540F0AB405
    const des = contentCipherByOid(OID.desCbc)!;
    const key = Buffer.from('133457799BBCDFF1', 'hex');
    const iv = Buffer.alloc(8);
    const { createCipheriv } = require('node:crypto') as typeof import('node:crypto');
    const c = createCipheriv('des-ede3-cbc', Buffer.concat([key, key, key]), iv).setAutoPadding(false);
    expect(
      Buffer.concat([c.update(Buffer.from('0123456789ABCDEF', 'hex')), c.final()])
        .toString('hex')
        .toUpperCase(),
    ).to.equal('85E813540F0AB405');
    // and our decryptContent inverts it (with PKCS#7 padding added by encryptContent)
    const enc = encryptContent(des, Buffer.from('hello SCEP'));
    expect(decryptContent(des, enc.key, enc.iv, enc.ciphertext).toString()).to.equal('hello SCEP');
  });

  it('round-trips every supported algorithm and refuses a wrong key', () => {
    for (const oid of [OID.desCbc, OID.desEde3Cbc, OID.aes128Cbc, OID.aes192Cbc, OID.aes256Cbc]) {
      const c = contentCipherByOid(oid)!;
      const enc = encryptContent(c, Buffer.from('x'.repeat(100)));
      expect(decryptContent(c, enc.key, enc.iv, enc.ciphertext).toString()).to.equal('x'.repeat(100));
    }
    const aes = contentCipherByOid(OID.aes256Cbc)!;
    const enc = encryptContent(aes, Buffer.from('secret'));
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      try {
        const out = decryptContent(aes, randomBytes(32), enc.iv, enc.ciphertext);
        if (out.toString() !== 'secret') refused++;
      } catch {
        refused++;
      }
    }
    expect(refused).to.equal(20);
  });
});
