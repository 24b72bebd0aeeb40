import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { refusal, runCli, runServer, serverEnv } from './startup-support';

/**
 * Threat: key material swapped, replaced or corrupted on disk (by mistake, a bad restore or an
 * attacker with file access). The server must refuse to start naming the file, never start with a
 * key its certificate does not vouch for or silently replace what it finds.
 */
describe('security: CA material is checked at start', function () {
  let ours: { dir: string; env: Record<string, string> };
  let other: { dir: string; env: Record<string, string> };
  let pristine: string;
  const certs = () => path.join(ours.dir, 'certs');
  const otherCerts = () => path.join(other.dir, 'certs');
  const start = (env: Record<string, string> = {}) => runServer({ ...ours.env, SCEPTER_RA: 'on', ...env }, ours.dir);
  /** the certs directory as the first start made it, then `change` applied */
  const restore = (change: () => void) => {
    fs.rmSync(certs(), { recursive: true, force: true });
    fs.cpSync(pristine, certs(), { recursive: true });
    change();
  };
  const copyFromOther = (file: string, as = file) => fs.copyFileSync(path.join(otherCerts(), file), path.join(certs(), as));

  before(async () => {
    ours = await serverEnv('ca-checks');
    other = await serverEnv('ca-checks-other');
    // first starts create CA, RA pair, OCSP signer and TLS pair in each directory
    expect(await start()).to.equal('listening');
    expect(await runServer({ ...other.env, SCEPTER_RA: 'on' }, other.dir)).to.equal('listening');
    pristine = path.join(ours.dir, 'pristine');
    fs.cpSync(certs(), pristine, { recursive: true });
  });
  after(() => {
    for (const d of [ours.dir, other.dir]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a CA key that does not match the CA certificate: exit 2 naming ca.key.pem (untouched material starts)', async () => {
    restore(() => undefined);
    expect(await start()).to.equal('listening');
    restore(() => copyFromOther('ca.key.pem'));
    expect(refusal(await start(), 'ca.key.pem')).to.contain('ca.cert.pem');
  });

  it('swapped RA keys: exit 2 naming the RA key file', async () => {
    restore(() => {
      fs.renameSync(path.join(certs(), 'ra-sign.key.pem'), path.join(certs(), 'tmp.pem'));
      fs.renameSync(path.join(certs(), 'ra-encrypt.key.pem'), path.join(certs(), 'ra-sign.key.pem'));
      fs.renameSync(path.join(certs(), 'tmp.pem'), path.join(certs(), 'ra-encrypt.key.pem'));
    });
    refusal(await start(), 'ra-sign.key.pem');
  });

  it('an RA pair (matching key and certificate) from another CA: exit 2 naming the RA certificate', async () => {
    restore(() => {
      copyFromOther('ra-encrypt.key.pem');
      copyFromOther('ra-encrypt.cert.pem');
    });
    expect(refusal(await start(), 'ra-encrypt.cert.pem')).to.contain('not issued by the CA');
  });

  it('an OCSP signer from another CA is named, not silently replaced', async () => {
    restore(() => copyFromOther('ocsp-signer.pem'));
    const planted = fs.readFileSync(path.join(certs(), 'ocsp-signer.pem'));
    refusal(await start(), 'ocsp-signer.pem');
    expect(fs.readFileSync(path.join(certs(), 'ocsp-signer.pem')).equals(planted)).to.equal(true);
  });

  it('an OCSP signer whose key is not its certificate’s: exit 2 naming ocsp-signer.pem', async () => {
    restore(() => {
      const mine = fs.readFileSync(path.join(certs(), 'ocsp-signer.pem'), 'utf8');
      const theirs = fs.readFileSync(path.join(otherCerts(), 'ocsp-signer.pem'), 'utf8');
      const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(theirs)![0];
      fs.writeFileSync(path.join(certs(), 'ocsp-signer.pem'), mine.replace(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/, key));
    });
    expect(refusal(await start(), 'ocsp-signer.pem')).to.contain('does not belong to');
  });

  it('a TLS key that does not match the TLS certificate is named, not silently replaced', async () => {
    restore(() => copyFromOther('tls-server.key.pem'));
    refusal(await start(), 'tls-server.key.pem');
  });

  it('a TLS pair from another CA is named', async () => {
    restore(() => {
      copyFromOther('tls-server.key.pem');
      copyFromOther('tls-server.cert.pem');
    });
    refusal(await start(), 'tls-server.cert.pem');
  });

  it('a corrupt CA certificate file (and a damaged key file) is named in the error', async () => {
    restore(() => {
      const file = path.join(certs(), 'ca.cert.pem');
      const pem = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, pem.slice(0, 200) + pem.slice(400));
    });
    expect(refusal(await start(), 'ca.cert.pem')).to.contain('not a readable PEM certificate');
    // a damaged key file is named too, as the directory's problem, not the passphrase's
    restore(() => {
      const file = path.join(certs(), 'ra-sign.key.pem');
      const pem = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, pem.slice(0, 300) + pem.slice(600));
    });
    expect(refusal(await start(), 'ra-sign.key.pem')).to.contain('SCEPTER_CERTS_DIR');
  });

  it('a passphrase set while the keys are unencrypted refuses to start naming `scepter ca encrypt-key`, which encrypts them all atomically (0600)', async () => {
    restore(() => undefined);
    const passphrase = { SCEPTER_CA_KEY_PASSPHRASE: 'correct horse battery' };
    const line = refusal(await start(passphrase), 'ca.key.pem');
    expect(line).to.contain('SCEPTER_CA_KEY_PASSPHRASE').and.contain('scepter ca encrypt-key');
    const r = await runCli(['ca', 'encrypt-key', '--json'], { ...ours.env, SCEPTER_RA: 'on', ...passphrase }, ours.dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).encrypted.map((f: string) => path.basename(f))).to.have.members([
      'ca.key.pem',
      'ra-sign.key.pem',
      'ra-encrypt.key.pem',
      'ocsp-signer.pem',
    ]);
    for (const f of ['ca.key.pem', 'ra-sign.key.pem', 'ra-encrypt.key.pem', 'ocsp-signer.pem']) {
      const file = path.join(certs(), f);
      expect(fs.readFileSync(file, 'utf8'), f).to.contain('BEGIN ENCRYPTED PRIVATE KEY').and.not.contain('BEGIN PRIVATE KEY');
      expect(fs.statSync(file).mode & 0o777, f).to.equal(0o600);
    }
    expect(fs.readFileSync(path.join(certs(), 'ocsp-signer.pem'), 'utf8')).to.contain('BEGIN CERTIFICATE');
    expect(fs.readdirSync(certs()).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
    expect(await start(passphrase)).to.equal('listening');
    // a second run changes nothing; a wrong passphrase is refused before anything is rewritten
    const again = await runCli(['ca', 'encrypt-key', '--json'], { ...ours.env, ...passphrase }, ours.dir);
    expect(JSON.parse(again.stdout).encrypted).to.deep.equal([]);
    const wrong = await runCli(['ca', 'encrypt-key'], { ...ours.env, SCEPTER_CA_KEY_PASSPHRASE: 'another passphrase' }, ours.dir);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.contain('encrypted under another passphrase');
  });
});
