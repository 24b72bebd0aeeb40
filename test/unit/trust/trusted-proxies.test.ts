import { expect } from 'chai';
import { TrustedProxies, unmapped } from '../../../src/trust/trusted-proxies';
import { loadConfig } from '../../../src/config/config';

describe('TrustedProxies', () => {
  const p = new TrustedProxies(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
  it('matches addresses and ranges, IPv4-mapped IPv6 too', () => {
    expect(p.contains('10.1.2.3')).to.equal(true);
    expect(p.contains('::ffff:10.1.2.3')).to.equal(true);
    expect(p.contains('192.0.2.7')).to.equal(true);
    expect(p.contains('192.0.2.8')).to.equal(false);
    expect(p.contains('2001:db8::1')).to.equal(true);
    expect(p.contains('2001:db9::1')).to.equal(false);
    expect(new TrustedProxies([]).contains('127.0.0.1')).to.equal(false);
    expect(unmapped('::ffff:127.0.0.1')).to.equal('127.0.0.1');
  });
  it('takes the client address from the nearest untrusted X-Forwarded-For hop, only behind a trusted proxy', () => {
    expect(p.clientAddress('10.0.0.5', '198.51.100.9, 10.0.0.9')).to.equal('198.51.100.9');
    expect(p.clientAddress('10.0.0.5', 'spoofed, 203.0.113.1')).to.equal('203.0.113.1');
    expect(p.clientAddress('198.51.100.1', '203.0.113.1')).to.equal('198.51.100.1');
    expect(p.clientAddress('10.0.0.5', undefined)).to.equal('10.0.0.5');
  });
  it('SCEPTER_TRUSTED_PROXIES is validated at start', () => {
    expect(loadConfig({ SCEPTER_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1' }).trust.trustedProxies).to.deep.equal(['127.0.0.1', '10.0.0.0/8', '::1']);
    for (const bad of ['nginx.local', '10.0.0.0/33', '1.2.3.4/8/9'])
      expect(() => loadConfig({ SCEPTER_TRUSTED_PROXIES: bad })).to.throw('SCEPTER_TRUSTED_PROXIES');
    expect(() => loadConfig({ SCEPTER_TLS_CERT: 'a.pem' })).to.throw('SCEPTER_TLS_KEY');
  });
});
