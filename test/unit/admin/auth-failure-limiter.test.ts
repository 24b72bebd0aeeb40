import { expect } from 'chai';
import { AuthFailureLimiter } from '../../../src/admin/auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  const clock = {
    t: 1_000_000,
    now() {
      return new Date(this.t);
    },
  };
  it('blocks an address after maxFailures within the window for cooldownSeconds; success resets', () => {
    const l = new AuthFailureLimiter({ maxFailures: 3, cooldownSeconds: 60 }, clock);
    l.failed('a');
    l.failed('a');
    expect(l.retryAfter('a')).to.equal(0);
    l.succeeded('a');
    l.failed('a');
    l.failed('a');
    expect(l.retryAfter('a')).to.equal(0);
    l.failed('a');
    expect(l.retryAfter('a')).to.equal(60);
    expect(l.retryAfter('b')).to.equal(0);
    clock.t += 30_000;
    expect(l.retryAfter('a')).to.equal(30);
    clock.t += 30_001;
    expect(l.retryAfter('a')).to.equal(0);
    l.failed('a');
    expect(l.retryAfter('a')).to.equal(0);
  });
  it('forgets failures older than the window', () => {
    const l = new AuthFailureLimiter({ maxFailures: 2, cooldownSeconds: 10 }, clock);
    l.failed('x');
    clock.t += 11_000;
    l.failed('x');
    expect(l.retryAfter('x')).to.equal(0);
  });
  it('tracks a bounded number of addresses', () => {
    const l = new AuthFailureLimiter({ maxFailures: 1, cooldownSeconds: 10, maxTracked: 100 }, clock);
    for (let i = 0; i < 1000; i++) l.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(l.tracked.addresses).to.equal(100);
    expect(l.retryAfter('10.0.3.231')).to.be.above(0);
  });
  it('counts per credential too, with its own limit; a success clears only its own address', () => {
    const l = new AuthFailureLimiter({ maxFailures: 3, maxFailuresPerCredential: 5, cooldownSeconds: 60 }, clock);
    for (const a of ['a', 'b']) for (let i = 0; i < 2; i++) l.failed(a, 'user');
    expect(l.retryAfter('c', 'user')).to.equal(0);
    l.succeeded('c');
    l.failed('d', 'user'); // the fifth failure against "user", from any address
    expect(l.retryAfter('c', 'user')).to.equal(60);
    expect(l.retryAfter('c', 'other')).to.equal(0);
    expect(l.retryAfter('c')).to.equal(0);
    l.succeeded('a');
    expect(l.retryAfter('a', 'user')).to.equal(60);
  });
  it('a flood of random credentials cannot evict address counts (each kind has its own bound)', () => {
    const l = new AuthFailureLimiter({ maxFailures: 2, cooldownSeconds: 10, maxTracked: 50 }, clock);
    l.failed('attacker', 'u0');
    for (let i = 1; i < 1000; i++) l.failed('attacker2', `u${i}`);
    l.failed('attacker', 'u-last');
    expect(l.tracked).to.deep.equal({ addresses: 2, credentials: 50 });
    expect(l.retryAfter('attacker')).to.be.above(0);
  });
});
