import { expect } from 'chai';
import { SubjectTemplate } from '../../../src/integrations/subject-template';

const attrs = (...pairs: [string, string][]) => pairs.map(([type, value]) => ({ type, value }));

describe('SubjectTemplate (WS1 Subject Name)', () => {
  const t = SubjectTemplate.parse('CN={DeviceUid},OU=DIABC');

  it('finds the UDID and refuses attribute types the template does not name', () => {
    expect(t.match(attrs(['OU', 'DIABC'], ['CN', '00008030-001A']))).to.deep.equal({ ok: true, deviceUid: '00008030-001A' });
    expect(t.match(attrs(['C', 'US'], ['O', 'scep-client'], ['OU', 'DIABC'], ['CN', '00008030-001A']))).to.deep.include({ ok: false });
    expect(t.match(attrs(['CN', 'X'], ['OU', 'DIABC']))).to.deep.equal({ ok: true, deviceUid: 'X' });
  });

  it('refuses a missing or empty UDID, a wrong or missing literal, duplicated template types', () => {
    expect(t.match(attrs(['OU', 'DIABC']))).to.deep.include({ ok: false });
    expect(t.match(attrs(['OU', 'DIABC'], ['CN', ' ']))).to.deep.include({ ok: false });
    expect(t.match(attrs(['OU', 'MDM'], ['CN', 'X']))).to.deep.include({ ok: false });
    expect(t.match(attrs(['CN', 'X']))).to.deep.include({ ok: false });
    expect(t.match(attrs(['OU', 'DIABC'], ['OU', 'MDM'], ['CN', 'X']))).to.deep.include({ ok: false });
    expect(t.match(attrs(['OU', 'DIABC'], ['CN', 'X'], ['CN', 'Y']))).to.deep.include({ ok: false });
  });

  it('matches placeholders inside values and other WS1 lookup values, literals first', () => {
    const u = SubjectTemplate.parse('CN=iOS-{DeviceUid}, OU={EnrollmentUser}, OU=fixed');
    expect(u.match(attrs(['OU', 'fixed'], ['OU', 'alice'], ['CN', 'iOS-U1']))).to.deep.equal({ ok: true, deviceUid: 'U1' });
    expect(u.match(attrs(['OU', 'alice'], ['OU', 'fixed'], ['CN', 'iOS-U1']))).to.deep.equal({ ok: true, deviceUid: 'U1' });
    expect(u.match(attrs(['OU', 'fixed'], ['OU', 'alice'], ['CN', 'U1']))).to.deep.include({ ok: false });
    expect(u.match(attrs(['OU', 'fixed'], ['OU', 'alice'], ['CN', 'iOS-']))).to.deep.include({ ok: false });
  });

  it('treats regex characters in literals literally, type names case-insensitively', () => {
    const u = SubjectTemplate.parse('cn={DeviceUid},o=a.b+c');
    expect(u.match(attrs(['O', 'a.b+c'], ['CN', 'X']))).to.deep.equal({ ok: true, deviceUid: 'X' });
    expect(u.match(attrs(['O', 'aXb+c'], ['CN', 'X']))).to.deep.include({ ok: false });
  });

  it('validates templates: {DeviceUid} exactly once, known types, TYPE=VALUE', () => {
    for (const bad of ['CN=fixed', 'CN={DeviceUid},OU={DeviceUid}', 'XX={DeviceUid}', 'CN', '', 'CN={DeviceUid},,OU=a']) {
      expect(() => SubjectTemplate.parse(bad), bad).to.throw();
    }
    expect(SubjectTemplate.parse('CN={DeviceUid},O=Acme\\, Inc.').profileSubject('U')).to.deep.equal([[['CN', 'U']], [['O', 'Acme, Inc.']]]);
  });

  it('builds the profile Subject in template order', () => {
    expect(t.profileSubject('UDID1')).to.deep.equal([[['CN', 'UDID1']], [['OU', 'DIABC']]]);
  });
});
