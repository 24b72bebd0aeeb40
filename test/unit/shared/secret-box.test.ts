import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadOrCreateSecretKey, parseSecretKey, SecretBox, SecretBoxError } from '../../../src/shared/secret-box';

describe('SecretBox (secrets at rest)', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, with a fresh IV each time and the key id in front', () => {
    const a = box.encrypt('s3cret', 'ws1:I1:password');
    const b = box.encrypt('s3cret', 'ws1:I1:password');
    expect(a).to.not.equal(b);
    expect(a).to.match(new RegExp(`^v1\\.${box.keyId}\\.[A-Za-z0-9_-]+$`));
    expect(a).to.not.contain('s3cret');
    expect(box.decrypt(a, 'ws1:I1:password')).to.equal('s3cret');
  });

  it('refuses another context, a tampered ciphertext and another key, naming the reason', () => {
    const c = box.encrypt('s3cret', 'ws1:I1:password');
    expect(() => box.decrypt(c, 'ws1:I2:password')).to.throw(SecretBoxError, /authentication/);
    const tampered = c.slice(0, -2) + (c.endsWith('A') ? 'BA' : 'AA');
    expect(() => box.decrypt(tampered, 'ws1:I1:password')).to.throw(SecretBoxError);
    expect(() => new SecretBox(randomBytes(32)).decrypt(c, 'ws1:I1:password')).to.throw(SecretBoxError, /another key/);
    expect(() => box.decrypt('plaintext', 'x')).to.throw(SecretBoxError, /format/);
  });

  it('never shows its key when logged or serialised', () => {
    expect(JSON.stringify({ box })).to.equal(`{"box":"SecretBox(${box.keyId})"}`);
  });

  it('parses 32-byte keys as hex or base64 only', () => {
    const key = randomBytes(32);
    expect(parseSecretKey(key.toString('hex'))).to.deep.equal(key);
    expect(parseSecretKey(key.toString('base64'))).to.deep.equal(key);
    expect(parseSecretKey(key.toString('base64url'))).to.deep.equal(key);
    expect(parseSecretKey(randomBytes(16).toString('hex'))).to.equal(undefined);
    expect(parseSecretKey('not a key')).to.equal(undefined);
  });

  it('creates certs/secret.key once with mode 0600, and prefers SCEPTER_SECRET_KEY', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-key-'));
    try {
      const k1 = loadOrCreateSecretKey(undefined, dir);
      expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777).to.equal(0o600);
      expect(loadOrCreateSecretKey(undefined, dir)).to.deep.equal(k1);
      const configured = randomBytes(32);
      expect(loadOrCreateSecretKey(configured, dir)).to.deep.equal(configured);
      expect(fs.readdirSync(dir)).to.deep.equal(['secret.key']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an invalid SCEPTER_SECRET_KEY stops the server with exit code 2, naming it but not its value', () => {
    const server = path.resolve(__dirname, '../../../src/server.js');
    const r = spawnSync(process.execPath, [server], { env: { ...process.env, SCEPTER_SECRET_KEY: 'too-short-key-value' }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('SCEPTER_SECRET_KEY').and.not.contain('too-short-key-value');
  });
});
