import { expect } from 'chai';
import { AuthFailureLimiter } from '../../../src/admin/auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  const clock = { t: 1_000_000, now() { return new Date(this.t); } };
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
});
