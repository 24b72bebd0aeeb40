import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { generationUri, parsePkcs11Uri, siblingUri } from '../../../src/config/pkcs11-uri';
import { loadConfig } from '../../../src/config/config';
import { ConfigError } from '../../../src/shared/errors';

describe('pkcs11: URIs (RFC 7512) and the PKCS#11 settings', () => {
  it('reads token, object and a percent-encoded id', () => {
    const u = parsePkcs11Uri('pkcs11:token=My%20Token;object=scepter-ca;id=%01%a2;type=private');
    expect(u.token).to.equal('My Token');
    expect(u.object).to.equal('scepter-ca');
    expect(u.id!.toString('hex')).to.equal('01a2');
    expect(siblingUri(u, 'scepter-ra-sign').text).to.equal('pkcs11:token=My%20Token;object=scepter-ra-sign');
  });

  it('names a later CA generation`s key: the label with the suffix, an id derived from that label, the same token', () => {
    const u = parsePkcs11Uri('pkcs11:token=My%20Token;object=scepter-ca;id=%01');
    const g2 = generationUri(u, '-g2');
    expect(g2.token).to.equal('My Token');
    expect(g2.object).to.equal('scepter-ca-g2');
    expect(g2.id!.equals(createHash('sha1').update('scepter-ca-g2').digest().subarray(0, 8))).to.equal(true);
    expect(parsePkcs11Uri(g2.text).id!.equals(g2.id!)).to.equal(true);
    expect(generationUri(u, '-g3').id!.equals(g2.id!)).to.equal(false);
    // a URI with only an id: the default label
    expect(generationUri(parsePkcs11Uri('pkcs11:token=t;id=%05'), '-g2').object).to.equal('scepter-ca-g2');
  });

  it('refuses a PIN or module in the URI, unknown attributes, and URIs naming no key or no token', () => {
    expect(() => parsePkcs11Uri('pkcs11:token=t;object=o?pin-value=1234')).to.throw(/pin-value is not accepted/);
    expect(() => parsePkcs11Uri('pkcs11:token=t;object=o?pin-source=file:/p')).to.throw(/pin-source is not accepted/);
    expect(() => parsePkcs11Uri('pkcs11:token=t;object=o?module-path=/x.so')).to.throw(/SCEPTER_PKCS11_MODULE/);
    expect(() => parsePkcs11Uri('pkcs11:token=t;colour=red;object=o')).to.throw(/unknown attribute "colour"/);
    expect(() => parsePkcs11Uri('pkcs11:token=t')).to.throw(/names no key/);
    expect(() => parsePkcs11Uri('pkcs11:object=o')).to.throw(/names no token/);
    expect(() => parsePkcs11Uri('pkcs11:token=t;id=%zz')).to.throw(/percent-encoding/);
    expect(() => parsePkcs11Uri('file:/ca.key')).to.throw(/must start with pkcs11:/);
  });

  it('config: a token key needs the module and a PIN file; the error never echoes a pin-value', () => {
    const base = { SCEPTER_HOME: '/tmp', SCEPTER_CA_KEY: 'pkcs11:token=t;object=ca' };
    expect(() => loadConfig(base)).to.throw(ConfigError, /SCEPTER_PKCS11_MODULE/);
    expect(() => loadConfig({ ...base, SCEPTER_PKCS11_MODULE: '/m.so' })).to.throw(ConfigError, /SCEPTER_PKCS11_PIN_FILE/);
    const c = loadConfig({ ...base, SCEPTER_PKCS11_MODULE: '/m.so', SCEPTER_PKCS11_PIN_FILE: 'pin' });
    expect(c.pkcs11!.pinFile).to.equal('/tmp/pin');
    expect(c.pkcs11!.keys.raEncrypt.uri.text).to.equal('pkcs11:token=t;object=scepter-ra-encrypt');
    expect(() => loadConfig({ SCEPTER_HOME: '/tmp', SCEPTER_RA_SIGN_KEY: 'pkcs11:token=t;object=ra' })).to.throw(ConfigError, /needs SCEPTER_CA_KEY/);
    expect(() =>
      loadConfig({ ...base, SCEPTER_PKCS11_MODULE: '/m.so', SCEPTER_PKCS11_PIN_FILE: 'pin', SCEPTER_RA_SIGN_KEY: 'pkcs11:token=other;object=ra' }),
    ).to.throw(ConfigError, /same token/);
    let message = '';
    try {
      loadConfig({ ...base, SCEPTER_CA_KEY: 'pkcs11:token=t;object=ca?pin-value=987654' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.contain('pin-value is not accepted');
    expect(message).to.not.contain('987654');
  });
});
