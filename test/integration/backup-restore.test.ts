import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { freeTcpPort, startTestServer, TEST_CHALLENGE } from '../support/test-server';
import { createTestDatabase } from '../support/postgres';
import { startServerProcess, ServerProcess } from '../support/server-process';
import { pooledKeys } from '../support/keys';
import { ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { pemEncode } from '../../src/pki/der';
import { ossl } from './revocation-support';
import { loadOrCreateSecretKey } from '../../src/shared/secret-box';

const CLI = path.resolve(__dirname, '../../src/cli/index.js');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** A server's settings on `home`, its default layout (data/scepter.sqlite, certs/) found through SCEPTER_HOME alone. */
function homeEnv(home: string, port: number): Record<string, string> {
  return {
    SCEPTER_HOME: home,
    SCEPTER_HTTP_PORT: String(port),
    SCEPTER_HOST: '127.0.0.1',
    SCEPTER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    SCEPTER_TLS_PORT: '0',
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
    SCEPTER_RETENTION_INTERVAL_MINUTES: '60',
  };
}

/** `openssl ocsp` for many certificates, 20 a request (the responder's limit): file -> status (good, revoked, unknown). */
async function ocspStatuses(port: number, caPem: string, certFiles: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < certFiles.length; i += 20) {
    const batch = certFiles.slice(i, i + 20);
    const r = await ossl(['ocsp', '-issuer', caPem, ...batch.flatMap((f) => ['-cert', f]), '-url', `http://127.0.0.1:${port}/ocsp`, '-CAfile', caPem]);
    expect(r.code, r.out).to.equal(0);
    for (const f of batch) out.set(f, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\w+)`).exec(r.out)?.[1] ?? 'missing');
  }
  return out;
}

describe('backup during enrollment load, restore into a new home', function () {
  this.timeout(600_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-backup-'));
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const s of servers) await s.kill();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('every certificate a client received before the backup started is known (OCSP good) to a server on the restored home', async () => {
    const home = path.join(root, 'home');
    const port = await freeTcpPort();
    const env = homeEnv(home, port);
    servers.push(await startServerProcess(env));
    const client = new ScepClient(`http://127.0.0.1:${port}/scep`);
    const cas = await client.getCaCertificates();
    const keys = await pooledKeys(8);
    const certsOut = path.join(root, 'issued');
    fs.mkdirSync(certsOut);
    // made on first use (a WS1 password or an API key), as the server would
    loadOrCreateSecretKey(undefined, path.join(home, 'certs'));
    const passFile = path.join(root, 'pass');
    fs.writeFileSync(passFile, 'a long backup passphrase\n', { mode: 0o600 });

    // enrollment load: 8 clients, each enrollment recorded with the time the client got its certificate
    const received: { file: string; at: number }[] = [];
    let backupStarted = 0;
    let backupEnded = 0;
    let n = 0;
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        while (!backupEnded || received.filter((r) => r.at > backupEnded).length < 10) {
          const i = n++;
          const r = await client.enroll({
            cas,
            subject: [{ type: 'CN', value: `backup-${i}` }],
            challenge: TEST_CHALLENGE,
            key: keys[w],
            transactionId: `backup-${i}`,
          });
          expect(r.status, r.failText).to.equal(PkiStatus.SUCCESS);
          const file = path.join(certsOut, `c${i}.pem`);
          fs.writeFileSync(file, pemEncode('CERTIFICATE', r.certificate!.der));
          received.push({ file, at: Date.now() });
        }
      }),
    );
    while (received.length < 30) await new Promise((r) => setTimeout(r, 20));
    const backupFile = path.join(root, 'scepter.bak');
    backupStarted = Date.now();
    const backup = await cli(['backup', '--out', backupFile, '--passphrase-file', passFile, '--json'], env);
    backupEnded = Date.now();
    await load;
    expect(backup.code, backup.stderr + backup.stdout).to.equal(0);
    const summary = JSON.parse(backup.stdout) as { file: string; certificates: number; files: string[]; databaseIncluded: boolean };
    expect(summary.databaseIncluded).to.equal(true);
    expect(summary.files).to.include.members([
      'data/scepter.sqlite',
      'certs/ca.key.pem',
      'certs/ca.cert.pem',
      'certs/secret.key',
      'certs/ocsp-signer.pem',
      'certs/tls-server.key.pem',
    ]);
    expect(fs.statSync(backupFile).mode & 0o777).to.equal(0o600);
    expect(backup.stderr).to.match(/database snapshot taken/);
    const before = received.filter((r) => r.at < backupStarted);
    const afterwards = received.filter((r) => r.at > backupEnded);
    expect(summary.certificates).to.be.at.least(before.length);
    expect(summary.certificates).to.be.at.most(received.length - afterwards.length);
    // the plaintext of neither the database nor the keys is in the file
    const raw = fs.readFileSync(backupFile);
    expect(raw.includes(Buffer.from('PRIVATE KEY'))).to.equal(false);
    expect(raw.includes(Buffer.from('SQLite format 3'))).to.equal(false);

    // backup refusals: an existing --out, a short passphrase, no passphrase and no terminal
    const exists = await cli(['backup', '--out', backupFile, '--passphrase-file', passFile], env);
    expect([exists.code, exists.stderr]).to.deep.equal([1, `scepter: ${backupFile} exists; choose another --out or pass --force to replace it\n`]);
    const shortPass = path.join(root, 'short');
    fs.writeFileSync(shortPass, 'short\n');
    const weak = await cli(['backup', '--out', path.join(root, 'weak.bak'), '--passphrase-file', shortPass, '--json'], env);
    expect([weak.code, JSON.parse(weak.stdout).error]).to.deep.equal([1, 'the passphrase must be at least 12 characters']);
    const noPass = await cli(['backup', '--out', path.join(root, 'none.bak')], env);
    expect(noPass.code).to.equal(1);
    expect(noPass.stderr).to.contain('give --passphrase-file FILE');
    expect(fs.existsSync(path.join(root, 'weak.bak')) || fs.existsSync(path.join(root, 'none.bak'))).to.equal(false);

    // restore refusals: wrong passphrase, altered file, non-empty target; none leaves anything behind
    const target = path.join(root, 'restored');
    const wrongPass = path.join(root, 'wrong');
    fs.writeFileSync(wrongPass, 'not the passphrase at all\n');
    const wrong = await cli(['restore', backupFile, '--to', target, '--passphrase-file', wrongPass], {});
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/wrong passphrase/);
    const altered = path.join(root, 'altered.bak');
    const bytes = Buffer.from(raw);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    fs.writeFileSync(altered, bytes);
    const tampered = await cli(['restore', altered, '--to', target, '--passphrase-file', passFile, '--json'], {});
    expect(tampered.code).to.equal(1);
    expect((JSON.parse(tampered.stdout) as { error: string }).error).to.match(/damaged or was altered/);
    expect(fs.existsSync(target)).to.equal(false);
    expect(fs.readdirSync(root).filter((f) => f.includes('restoring'))).to.deep.equal([]);
    const busy = path.join(root, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const refused = await cli(['restore', backupFile, '--to', busy, '--passphrase-file', passFile], {});
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/is not empty.*--force/);
    expect(fs.readFileSync(path.join(busy, 'keep.txt'), 'utf8')).to.equal('mine');

    // the real restore, checked
    const restore = await cli(['restore', backupFile, '--to', target, '--passphrase-file', passFile, '--json'], {});
    expect(restore.code, restore.stderr + restore.stdout).to.equal(0);
    const restored = JSON.parse(restore.stdout) as { certificates: number; checks: string[]; env: Record<string, string> };
    expect(restored.certificates).to.equal(summary.certificates);
    expect(restored.checks).to.include.members([
      'ca.key.pem: matches ca.cert.pem',
      'ocsp-signer.pem: matches its certificate',
      'tls-server.key.pem: matches tls-server.cert.pem',
      'secret.key: a 32-byte key',
      'database: migrations up to date',
    ]);
    expect(fs.statSync(path.join(target, 'certs', 'ca.key.pem')).mode & 0o777).to.equal(0o600);
    // the restored home is found through SCEPTER_HOME alone; its scepter.env is not in the backup
    expect(restored.env).to.deep.equal({ SCEPTER_HOME: target });
    const forced = await cli(['restore', backupFile, '--to', busy, '--passphrase-file', passFile, '--force'], {});
    expect(forced.code, forced.stderr).to.equal(0);
    expect(fs.existsSync(path.join(busy, 'keep.txt'))).to.equal(false);
    expect(forced.stdout).to.include(`\n  SCEPTER_HOME=${busy} npm start\n`);
    expect(forced.stdout).to.match(/holds no scepter\.env: copy the old home's into /);

    // a server on the restored home, started as restore says, knows every certificate issued before the backup started
    const port2 = await freeTcpPort();
    servers.push(await startServerProcess({ ...homeEnv(target, port2), ...restored.env }));
    // not over a home a server is running on: it would go on with deleted files
    const live = await cli(['restore', backupFile, '--to', target, '--passphrase-file', passFile, '--force'], {});
    expect(live.code).to.equal(1);
    expect(live.stderr).to.match(new RegExp(`is in use by process ${servers[servers.length - 1]!.child.pid}\\b.*stop it first`));
    const caPem = path.join(target, 'certs', 'ca.cert.pem');
    expect(fs.readFileSync(caPem)).to.deep.equal(fs.readFileSync(path.join(home, 'certs', 'ca.cert.pem')));
    const statuses = await ocspStatuses(
      port2,
      caPem,
      received.map((r) => r.file),
    );
    const good = [...statuses.values()].filter((s) => s === 'good').length;
    for (const r of before) expect(statuses.get(r.file), r.file).to.equal('good');
    // issued after the snapshot: unknown to the restored server (it is a snapshot, not a live copy)
    for (const r of afterwards) expect(statuses.get(r.file), r.file).to.equal('unknown');
    expect(good).to.equal(summary.certificates);
    expect([...statuses.values()].every((s) => s === 'good' || s === 'unknown')).to.equal(true);
  });
});

describe('backup on PostgreSQL: pg_dump inside the encrypted file, pg_restore into an empty database', function () {
  this.timeout(300_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-backup-pg-'));
  const drops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const d of drops) await d().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('restores a home whose server answers OCSP good for the certificates issued before; never into a database with tables', async () => {
    const source = await createTestDatabase();
    drops.push(source.drop);
    const server = await startTestServer({ SCEPTER_DATABASE: source.url });
    const certsOut = path.join(root, 'issued');
    fs.mkdirSync(certsOut);
    const issued: string[] = [];
    try {
      const cas = await server.client.getCaCertificates();
      for (const [i, key] of (await pooledKeys(3)).entries()) {
        const r = await server.client.enroll({ cas, subject: [{ type: 'CN', value: `pg-backup-${i}` }], challenge: TEST_CHALLENGE, key });
        expect(r.status).to.equal(PkiStatus.SUCCESS);
        issued.push(path.join(certsOut, `c${i}.pem`));
        fs.writeFileSync(issued[i]!, pemEncode('CERTIFICATE', r.certificate!.der));
      }
      const passFile = path.join(root, 'pass');
      fs.writeFileSync(passFile, 'a long backup passphrase\n', { mode: 0o600 });
      const backupFile = path.join(root, 'pg.bak');
      const backup = await cli(['backup', '--out', backupFile, '--passphrase-file', passFile, '--json'], server.env);
      expect(backup.code, backup.stderr).to.equal(0);
      const summary = JSON.parse(backup.stdout) as { dialect: string; files: string[] };
      expect(summary.dialect).to.equal('postgres');
      expect(summary.files).to.include.members(['data/scepter.pgdump', 'certs/ca.key.pem']);
      expect(fs.readFileSync(backupFile).includes(Buffer.from('PGDMP'))).to.equal(false);

      // the source database has tables: refused, nothing written there
      const busy = await cli(['restore', backupFile, '--to', path.join(root, 'r0'), '--passphrase-file', passFile, '--database', source.url], {});
      expect(busy.code).to.equal(1);
      expect(busy.stderr).to.match(/is not empty; restore into a new, empty database/);
      expect(fs.existsSync(path.join(root, 'r0'))).to.equal(false);

      const target = await createTestDatabase();
      drops.push(target.drop);
      const home = path.join(root, 'restored');
      const restore = await cli(['restore', backupFile, '--to', home, '--passphrase-file', passFile, '--database', target.url, '--json'], {});
      expect(restore.code, restore.stderr + restore.stdout).to.equal(0);
      const restored = JSON.parse(restore.stdout) as { certificates: number; checks: string[]; env: Record<string, string> };
      expect(restored.certificates).to.equal(3);
      expect(restored.env).to.deep.equal({ SCEPTER_HOME: home, SCEPTER_DATABASE: target.url });
      expect(restored.checks).to.include.members(['database: migrations up to date', 'database: newest certificate verifies under the restored CA']);
      // no unencrypted copy of the database is left in the home
      expect(fs.readdirSync(path.join(home, 'data'))).to.deep.equal([]);

      const again = await startTestServer({ ...restored.env, SCEPTER_CERTS_DIR: path.join(home, 'certs') }, home);
      try {
        const statuses = await ocspStatuses(Number(new URL(again.url).port), path.join(home, 'certs', 'ca.cert.pem'), issued);
        expect([...statuses.values()]).to.deep.equal(['good', 'good', 'good']);
      } finally {
        await again.stop();
      }
    } finally {
      await server.destroy();
    }
  });
});

describe('restore of an encrypted CA with an RA pair', function () {
  this.timeout(120_000);

  it('needs SCEPTER_CA_KEY_PASSPHRASE to check the keys, refuses a wrong one, then checks every pair', async () => {
    const server = await startTestServer({ SCEPTER_CA_KEY_PASSPHRASE: 'the CA key passphrase', SCEPTER_RA: 'on' });
    try {
      const pass = path.join(server.dir, 'pass');
      fs.writeFileSync(pass, 'a long backup passphrase\n', { mode: 0o600 });
      const file = path.join(server.dir, 'enc.bak');
      expect((await cli(['backup', '--out', file, '--passphrase-file', pass], server.env)).code).to.equal(0);
      const missing = await cli(['restore', file, '--to', path.join(server.dir, 'r1'), '--passphrase-file', pass], {});
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.contain('certs/ca.key.pem is encrypted: set SCEPTER_CA_KEY_PASSPHRASE');
      const wrong = await cli(['restore', file, '--to', path.join(server.dir, 'r1'), '--passphrase-file', pass], {
        SCEPTER_CA_KEY_PASSPHRASE: 'not the CA passphrase',
      });
      expect(wrong.stderr).to.contain('certs/ca.key.pem does not open with SCEPTER_CA_KEY_PASSPHRASE');
      expect(fs.existsSync(path.join(server.dir, 'r1'))).to.equal(false);
      const ok = await cli(['restore', file, '--to', path.join(server.dir, 'r1'), '--passphrase-file', pass, '--json'], {
        SCEPTER_CA_KEY_PASSPHRASE: 'the CA key passphrase',
      });
      expect(ok.code, ok.stderr).to.equal(0);
      expect((JSON.parse(ok.stdout) as { checks: string[] }).checks).to.include.members([
        'ca.key.pem: matches ca.cert.pem',
        'ra-sign.key.pem: matches ra-sign.cert.pem',
        'ra-encrypt.key.pem: matches ra-encrypt.cert.pem',
        'ocsp-signer.pem: matches its certificate',
      ]);
      // a certs directory whose RA signing key is the encryption one: refused, naming the pair
      const mixed = path.join(server.dir, 'mixed-certs');
      fs.cpSync(server.env.SCEPTER_CERTS_DIR!, mixed, { recursive: true });
      fs.copyFileSync(path.join(mixed, 'ra-encrypt.key.pem'), path.join(mixed, 'ra-sign.key.pem'));
      const mixedFile = path.join(server.dir, 'mixed.bak');
      expect((await cli(['backup', '--out', mixedFile, '--passphrase-file', pass], { ...server.env, SCEPTER_CERTS_DIR: mixed })).code).to.equal(0);
      const refused = await cli(['restore', mixedFile, '--to', path.join(server.dir, 'r2'), '--passphrase-file', pass], {
        SCEPTER_CA_KEY_PASSPHRASE: 'the CA key passphrase',
      });
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.contain('scepter: certs/ra-sign.key.pem does not belong to the certificate in certs/ra-sign.cert.pem\n');
      expect(fs.existsSync(path.join(server.dir, 'r2'))).to.equal(false);
    } finally {
      await server.destroy();
    }
  });
});
