import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { run } from '../support/proc';
import { cleanEnv, ROOT, scratchDir } from './ops-support';

/** The repository's tracked files (as in a fresh clone) copied to a scratch folder, node_modules linked. */
function cleanClone(): string {
  const dir = path.join(scratchDir('clone'), 'scepter');
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT }).toString('utf8').split('\0').filter(Boolean);
  for (const f of files) {
    const from = path.join(ROOT, f);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(from, path.join(dir, f));
  }
  fs.chmodSync(path.join(dir, 'bin', 'scepter'), 0o755);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

describe('install and run: npx scepter on a fresh clone, builds only when needed, systemd unit', function () {
  it('deploy/scepter.service passes systemd-analyze verify and is hardened; a broken copy does not pass silently', async () => {
    const unit = path.join(ROOT, 'deploy', 'scepter.service');
    const r = await run('systemd-analyze', ['verify', unit]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect((r.stdout + r.stderr).trim()).to.equal('');
    const text = fs.readFileSync(unit, 'utf8');
    for (const line of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/scepter',
      'PrivateTmp=yes',
      'Environment=SCEPTER_HOME=/var/lib/scepter',
      'CapabilityBoundingSet=',
      'User=scepter',
    ]) {
      expect(text.split('\n')).to.include(line);
    }
    // the check can fail: a misspelt directive and a missing binary are reported
    const broken = path.join(scratchDir('unit'), 'scepter.service');
    fs.writeFileSync(broken, text.replace('NoNewPrivileges=yes', 'NoNewPrivilegs=yes').replace('/usr/bin/node', '/usr/bin/no-such-node'));
    const bad = await run('systemd-analyze', ['verify', broken]);
    expect(bad.stdout + bad.stderr).to.contain("Unknown key 'NoNewPrivilegs'");
    expect(bad.exitCode).to.not.equal(0);
  });

  it('npx scepter --help works on a fresh clone (dist/ built on first use); later runs and npm start do not rebuild', async () => {
    const dir = cleanClone();
    expect(fs.existsSync(path.join(dir, 'dist'))).to.equal(false);
    const env = cleanEnv();
    const first = await run(process.execPath, [path.join(dir, 'bin', 'scepter'), '--help'], { cwd: dir, env, timeoutMs: 600_000 });
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/^Usage: scepter \[options\] \[command\]/);
    expect(first.stderr).to.contain('first run, building dist/');
    const npx = await run('npx', ['--no-install', 'scepter', '--help'], { cwd: dir, env, timeoutMs: 120_000 });
    expect(npx.exitCode, npx.stderr).to.equal(0);
    expect(npx.stdout).to.match(/^Usage: scepter/);
    expect(npx.stderr).to.not.contain('building');

    // the build step of npm start (prestart) compiles only when a source changed
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).scripts.prestart).to.equal('node scripts/build-if-stale.js');
    const stale = () => run(process.execPath, [path.join(dir, 'scripts', 'build-if-stale.js'), '--verbose'], { cwd: dir, env, timeoutMs: 600_000 });
    const server = path.join(dir, 'dist', 'src', 'server.js');
    const before = fs.statSync(server).mtimeMs;
    expect((await stale()).stdout.trim()).to.equal('build: up to date');
    expect(fs.statSync(server).mtimeMs).to.equal(before);
    const src = path.join(dir, 'src', 'server.ts');
    fs.appendFileSync(src, '\n// touched by the test\n');
    const rebuilt = await stale();
    expect(rebuilt.exitCode, rebuilt.stdout + rebuilt.stderr).to.equal(0);
    expect(rebuilt.stdout.trim()).to.equal('build: compiled');
    expect(fs.readFileSync(server, 'utf8')).to.contain('touched by the test');
    expect((await stale()).stdout.trim()).to.equal('build: up to date');
  });
});
