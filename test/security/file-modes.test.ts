import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, SERVER, serverEnv } from './startup-support';

const mode = (f: string) => fs.statSync(f).mode & 0o777;

/**
 * Threat: another local user (or a backup agent running as one) reads the inventory, challenges or
 * reports from files left group- or world-readable, and a crafted id writes a report outside
 * --report-dir. Everything here runs the real server and CLI processes under a umask of 022.
 */
describe('security: file modes and report names', function () {
  let dir: string;
  let env: Record<string, string>;
  let umask: number;
  before(async () => {
    umask = process.umask(0o022); // what the children inherit: the common default, not a careful one
    ({ dir, env } = await serverEnv('file-modes'));
  });
  after(() => {
    process.umask(umask);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the data directory is 0700 and the database with its -wal and -shm files 0600, also when an older start left them wider', async () => {
    const data = path.join(dir, 'data');
    const db = path.join(data, 'scepter.sqlite');
    fs.mkdirSync(data, { mode: 0o755 });
    fs.chmodSync(data, 0o755);
    const child = spawn(process.execPath, [SERVER], {
      cwd: dir,
      env: { ...process.env, ...env, SCEPTER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => /listening on/.test(out) && resolve());
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
      // the server holds the database open in WAL mode: all three files exist now
      expect(mode(data), 'data directory').to.equal(0o700);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect(mode(f), f).to.equal(0o600);
      expect(mode(path.join(dir, 'certs')), 'certs directory').to.equal(0o700);
    } finally {
      await new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM'))));
    }
    // files left 0644 (another tool, a wide umask) are narrowed at the next start (here: by the CLI opening the database)
    fs.chmodSync(db, 0o644);
    fs.chmodSync(data, 0o755);
    const r = await runCli(['integration', 'list', '--json'], env, dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(mode(db)).to.equal(0o600);
    expect(mode(data)).to.equal(0o700);
  });

  it('a profile is written 0600 even over an existing 0644 file, atomically (no temporary file left)', async () => {
    const created = await runCli(['integration', 'create', '--type', 'ios-certs', '--name', 'modes', '--allow-legacy', '--json'], env, dir);
    expect(created.code, created.stderr).to.equal(0);
    const id = JSON.parse(created.stdout).id as string;
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const file = path.join(out, 'device.mobileconfig');
    fs.writeFileSync(file, 'old content', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const r = await runCli(['integration', 'profile', id, '--out', file], env, dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(mode(file)).to.equal(0o600);
    expect(fs.readFileSync(file, 'utf8')).to.contain('PayloadContent');
    expect(fs.readdirSync(out)).to.deep.equal(['device.mobileconfig']);
  });

  it('migration reports are 0600 in a report directory created 0700', async () => {
    const reports = path.join(dir, 'reports');
    const r = await runCli(['migrate', 'plan', 'DInotthere', '--report-dir', reports, '--yes'], env, dir);
    expect(r.code).to.equal(1); // no such legacy integration: the error is reported too
    const files = fs.readdirSync(reports);
    expect(files.length).to.equal(3);
    expect(mode(reports)).to.equal(0o700);
    for (const f of files) expect(mode(path.join(reports, f)), f).to.equal(0o600);
  });

  it('an id that is not an integration id is refused with a clear error, and nothing is written outside --report-dir', async () => {
    const reports = path.join(dir, 'reports-2');
    const escaped = path.join(dir, 'escaped');
    fs.mkdirSync(escaped);
    for (const id of ['../escaped/evil', '/tmp/evil', 'a\nb', '..']) {
      const r = await runCli(['migrate', 'plan', id, '--report-dir', reports, '--yes'], env, dir);
      expect(r.code, id).to.equal(1);
      expect(r.stderr, id).to.contain('not a valid integration id');
    }
    expect(fs.readdirSync(escaped)).to.deep.equal([]);
    expect(fs.existsSync(reports) ? fs.readdirSync(reports) : []).to.deep.equal([]);
  });
});
