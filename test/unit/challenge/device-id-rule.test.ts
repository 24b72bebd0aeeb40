import { expect } from 'chai';
import { DEFAULT_DEVICE_ID_PATTERN, DeviceIdRule } from '../../../src/challenge/device-id-rule';
import { BadRequestError } from '../../../src/shared/errors';

describe('challenge/device-id-rule', () => {
  const rule = new DeviceIdRule();

  it('accepts both Apple UDID shapes by default', () => {
    expect(rule.source).to.equal(DEFAULT_DEVICE_ID_PATTERN);
    expect(rule.check('00008030-001A35E83C38802E')).to.equal('00008030-001A35E83C38802E');
    expect(rule.check('a'.repeat(40))).to.equal('a'.repeat(40));
  });

  it('matches the whole id, and refuses without echoing it', () => {
    for (const bad of ['', 'short', `${'a'.repeat(40)}x`, `x${'a'.repeat(40)}`]) {
      expect(() => rule.check(bad)).to.throw(BadRequestError, 'SCEPTER_DEVICE_ID_PATTERN');
    }
    try {
      rule.check('secret-looking-id', 'challenge device');
      expect.fail('accepted');
    } catch (err) {
      expect((err as Error).message)
        .to.match(/^challenge device must match/)
        .and.not.contain('secret-looking-id');
    }
  });

  it('refuses control characters and overlong ids whatever the pattern', () => {
    const any = new DeviceIdRule('.*');
    expect(any.check('laptop-7')).to.equal('laptop-7');
    for (const bad of ['a\nb', 'a\u0000b', 'a\u001b[2Jb', 'a\u0085b', 'x'.repeat(257)]) expect(() => any.check(bad)).to.throw(BadRequestError);
  });

  it('refuses bidi and invisible formatting characters whatever the pattern, saying so', () => {
    const any = new DeviceIdRule('.*');
    for (const bad of ['dev\u200bx', 'dev\u202ex', '\ufeffdev', 'dev\u2028x', 'dev\uffff', 'dev\ud800'])
      expect(() => any.check(bad, 'deviceUid')).to.throw(
        BadRequestError,
        'deviceUid must match .* (SCEPTER_DEVICE_ID_PATTERN) without control or invisible formatting characters',
      );
    expect(any.check('dev\u200dx')).to.equal('dev\u200dx');
  });
});
