/**
 * Backup and restore at scale: a home with N certificates (and one SCEP transaction each),
 * inserted with SQL, then the real CLI: `scepter backup` (VACUUM INTO snapshot + scrypt/AES-256-GCM
 * container) and `scepter restore` (decrypt, key checks, quick_check, migrations, CA check).
 *
 *   npm run bench:backup -- [--certificates 1000000] [--json]
 *
 * Peer in the same run (these machines are shared and noisy): the same data with the usual shell
 * tools, `sqlite3 .backup` + `tar | openssl enc -aes-256-cbc -pbkdf2`, and back with
 * `openssl enc -d | tar -x` + `sqlite3 'PRAGMA quick_check'`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { buildServices } from '../../src/main';
import { createLogger } from '../../src/shared/logger';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/src/cli/index.js');

function parse(argv: string[]): { certificates: number; json: boolean } {
  const o = { certificates: 1_000_000, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--certificates') o.certificates = Number(argv[++i]);
    else if (argv[i] === '--json') o.json = true;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!Number.isInteger(o.certificates) || o.certificates < 1) throw new Error('--certificates must be a positive integer');
  return o;
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

function sh(cmd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-backup-bench-'));
  const home = path.join(dir, 'home');
  const env = {
    SCEPTER_DATABASE: path.join(home, 'data', 'scepter.sqlite'),
    SCEPTER_CERTS_DIR: path.join(home, 'certs'),
    SCEPTER_CA_KEY_BITS: '2048',
    SCEPTER_LOG_LEVEL: 'warn',
    SCEPTER_PUBLIC_URL: 'http://scepter.example',
  };
  try {
    // the home as the server makes it: migrations, CA, OCSP responder, secret.key
    const s = await buildServices(loadConfig(env), { logger: createLogger('warn') });
    const caDer = s.authority.caCertificate.der;
    const t0 = Date.now();
    // N rows per table in one statement each; the DER is the CA certificate (a real certificate of
    // realistic size that restore's "newest certificate verifies under the CA" check accepts)
    await s.db.dataSource.query(
      `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
       INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, transaction_id, endpoint_id, integration_id, device_id, status, created_at)
       SELECT printf('%032X', i), 'CN=bench-device-' || i || ',OU=MDM,O=scep-client,C=US', hex(randomblob(32)), lower(hex(randomblob(20))), '2026-01-01 00:00:00.000', '2027-01-01 00:00:00.000', ?, 'bench-' || i, 'default', NULL, 'device-' || i, 'valid', '2026-01-01 00:00:00.000' FROM seq`,
      [o.certificates, caDer],
    );
    await s.db.dataSource.query(
      `INSERT INTO scep_transactions (endpoint_id, transaction_id, public_key_hash, message_type, pki_status, certificate_serial, created_at, updated_at)
       SELECT endpoint_id, transaction_id, public_key_hash, 19, 0, serial, created_at, created_at FROM certificates`,
    );
    await s.db.close();
    const genMs = Date.now() - t0;
    const dbBytes = fs.statSync(env.SCEPTER_DATABASE).size;
    const passFile = path.join(dir, 'pass');
    fs.writeFileSync(passFile, 'bench backup passphrase\n', { mode: 0o600 });

    const out = path.join(dir, 'scepter.bak');
    const backup = timed(() =>
      execFileSync(process.execPath, [CLI, 'backup', '--out', out, '--passphrase-file', passFile, '--json'], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const summary = JSON.parse(backup.value) as { bytes: number; certificates: number; ms: { snapshot: number } };
    const restore = timed(() =>
      execFileSync(process.execPath, [CLI, 'restore', out, '--to', path.join(dir, 'restored'), '--passphrase-file', passFile, '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    const restored = JSON.parse(restore.value) as { certificates: number };
    if (restored.certificates !== o.certificates) throw new Error(`restored ${restored.certificates} certificates, expected ${o.certificates}`);

    // the peer: shell tools on the same data
    const peerDir = path.join(dir, 'peer');
    fs.mkdirSync(path.join(peerDir, 'data'), { recursive: true });
    const peerOut = path.join(dir, 'peer.tar.enc');
    const pbkdf = '-aes-256-cbc -pbkdf2 -iter 600000';
    const peerBackup = timed(() =>
      sh(
        `sqlite3 "${env.SCEPTER_DATABASE}" ".backup '${peerDir}/data/scepter.sqlite'" && cp -a "${env.SCEPTER_CERTS_DIR}" "${peerDir}/certs" && tar -C "${peerDir}" -cf - data certs | openssl enc ${pbkdf} -salt -pass file:${passFile} -out "${peerOut}"`,
      ),
    );
    const peerRestoreDir = path.join(dir, 'peer-restored');
    fs.mkdirSync(peerRestoreDir);
    const peerRestore = timed(() =>
      sh(
        `openssl enc -d ${pbkdf} -pass file:${passFile} -in "${peerOut}" | tar -C "${peerRestoreDir}" -xf - && sqlite3 "${peerRestoreDir}/data/scepter.sqlite" 'PRAGMA quick_check'`,
      ),
    );

    const result = {
      certificates: o.certificates,
      databaseMiB: +(dbBytes / 1048576).toFixed(1),
      backupMiB: +(summary.bytes / 1048576).toFixed(1),
      generateSeconds: +(genMs / 1000).toFixed(1),
      backup: { seconds: +(backup.ms / 1000).toFixed(2), snapshotSeconds: +(summary.ms.snapshot / 1000).toFixed(2) },
      restore: { seconds: +(restore.ms / 1000).toFixed(2) },
      peer: { backupSeconds: +(peerBackup.ms / 1000).toFixed(2), restoreSeconds: +(peerRestore.ms / 1000).toFixed(2) },
      ratio: { backup: +(backup.ms / peerBackup.ms).toFixed(2), restore: +(restore.ms / peerRestore.ms).toFixed(2) },
      loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    };
    if (o.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `${o.certificates} certificates, database ${result.databaseMiB} MiB (generated in ${result.generateSeconds} s), backup file ${result.backupMiB} MiB`,
      );
      console.log(
        `scepter backup:  ${result.backup.seconds} s (snapshot ${result.backup.snapshotSeconds} s)   peer sqlite3 .backup + tar | openssl enc: ${result.peer.backupSeconds} s   ratio ${result.ratio.backup}x`,
      );
      console.log(
        `scepter restore: ${result.restore.seconds} s (with checks)   peer openssl enc -d | tar -x + quick_check: ${result.peer.restoreSeconds} s   ratio ${result.ratio.restore}x`,
      );
      console.log(`load average: ${result.loadAverage.join(' ')}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
