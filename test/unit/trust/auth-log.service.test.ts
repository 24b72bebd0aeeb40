import { expect } from 'chai';
import { parseSince } from '../../../src/trust/auth-log.service';

describe('AuthLogService', () => {
  it('parseSince takes ISO times and durations back from now', () => {
    const now = new Date('2026-11-28T12:00:00Z');
    expect(parseSince('15m', now).toISOString()).to.equal('2026-11-28T11:45:00.000Z');
    expect(parseSince('2d', now).toISOString()).to.equal('2026-11-26T12:00:00.000Z');
    expect(parseSince('2026-11-01T00:00:00Z', now).toISOString()).to.equal('2026-11-01T00:00:00.000Z');
    expect(() => parseSince('last week', now)).to.throw('since must be');
  });
});
