import { expect } from 'chai';
import { pooledRandomBytes } from '../../../src/pki/random-pool';

describe('pooledRandomBytes', () => {
  it('hands out each byte once: values of any size are distinct, of the size asked, and keep their bytes when a new block is drawn', () => {
    const first = pooledRandomBytes(32);
    const copy = Buffer.from(first);
    const seen = new Set<string>();
    // 3,000 values of 16 to 48 bytes run through several 4 KiB blocks
    for (let i = 0; i < 3000; i++) {
      const n = 16 + (i % 33);
      const v = pooledRandomBytes(n);
      expect(v.length).to.equal(n);
      const hex = v.toString('hex');
      expect(seen.has(hex)).to.equal(false);
      seen.add(hex);
    }
    expect(first.equals(copy)).to.equal(true);
  });

  it('draws values larger than a quarter block straight from the CSPRNG', () => {
    const a = pooledRandomBytes(2048);
    const b = pooledRandomBytes(2048);
    expect([a.length, b.length]).to.deep.equal([2048, 2048]);
    expect(a.equals(b)).to.equal(false);
  });
});
