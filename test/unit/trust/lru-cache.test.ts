import { expect } from 'chai';
import { LruCache } from '../../../src/trust/lru-cache';

describe('LruCache', () => {
  it('forgets the least recently used entry', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.get('a');
    c.set('c', 3);
    expect([c.get('a'), c.get('b'), c.get('c')]).to.deep.equal([1, undefined, 3]);
  });
});
