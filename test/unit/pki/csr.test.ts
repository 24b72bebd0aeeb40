import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { ParsedCsr } from '../../../src/pki/csr';
import { PkiInputError } from '../../../src/pki/pki.errors';
import { challengeAttribute, rawCsr, rawCsrWithAttributes, utf8Name } from '../../support/raw-scep';

describe('pki/csr: attributes a reader could take two ways are refused', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subject = utf8Name(['2.5.4.3', 'device']);

  it('reads the one challengePassword of an ordinary request', () => {
    expect(ParsedCsr.fromDer(rawCsr(subject, privateKey, 'right')).challengePassword).to.equal('right');
    expect(ParsedCsr.fromDer(rawCsr(subject, privateKey)).challengePassword).to.equal(undefined);
  });

  it('refuses a challengePassword with two values, or none', () => {
    expect(() => ParsedCsr.fromDer(rawCsrWithAttributes(subject, privateKey, [challengeAttribute('right', 'wrong')]))).to.throw(
      PkiInputError,
      /exactly one value/,
    );
    expect(() => ParsedCsr.fromDer(rawCsrWithAttributes(subject, privateKey, [challengeAttribute()]))).to.throw(PkiInputError, /exactly one value/);
  });

  it('refuses an attribute that appears twice', () => {
    expect(() => ParsedCsr.fromDer(rawCsrWithAttributes(subject, privateKey, [challengeAttribute('right'), challengeAttribute('wrong')]))).to.throw(
      PkiInputError,
      /1\.2\.840\.113549\.1\.9\.7 appears more than once/,
    );
  });
});
