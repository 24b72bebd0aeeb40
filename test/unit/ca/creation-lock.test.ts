import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withCreationLock } from '../../../src/ca/ca-material';

describe('ca/ca-material withCreationLock: a lock left behind never blocks every later start', function () {
  this.timeout(20_000);
  let dir: string;
  let lock: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'creation-lock-'));
    lock = path.join(dir, '.create.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** whether `fn` under the lock ran within `ms` */
  const ranWithin = async (ms: number): Promise<{ ran: () => boolean; done: Promise<unknown> }> => {
    let ran = false;
    const done = withCreationLock(lock, async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, ms));
    return { ran: () => ran, done };
  };
  const deadPid = (): number => spawnSync('true').pid;

  it('names its holder while held and removes the lock after', async () => {
    await withCreationLock(lock, async () => {
      expect(fs.readFileSync(lock, 'utf8')).to.equal(`${os.hostname()} ${process.pid}`);
    });
    expect(fs.existsSync(lock)).to.equal(false);
  });

  it('a lock whose holder could not be written (no space) is removed, not left behind', () => {
    const module = path.resolve(__dirname, '../../../src/ca/ca-material.js');
    const script = `require(${JSON.stringify(module)}).withCreationLock(${JSON.stringify(lock)}, async () => 'ran').then((v) => console.log(v), (e) => console.log(e.code))`;
    // a file-size limit of 0 makes the first byte written fail (EFBIG), as a full disk fails it
    const out = spawnSync('bash', ['-c', `ulimit -f 0; trap '' XFSZ; exec node -e "$0"`, script], { encoding: 'utf8' });
    expect(out.stdout.trim()).to.equal('EFBIG');
    expect(fs.existsSync(lock)).to.equal(false);
  });

  it('takes over a lock whose holder on this host has died', async () => {
    fs.writeFileSync(lock, `${os.hostname()} ${deadPid()}`);
    const r = await ranWithin(300);
    expect(r.ran()).to.equal(true);
    await r.done;
    expect(fs.existsSync(lock)).to.equal(false);
  });

  it('takes over a lock that never got its holder written, once it is a few seconds old', async () => {
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(lock, old, old);
    const r = await ranWithin(300);
    expect(r.ran()).to.equal(true);
    await r.done;
  });

  it('waits for a live holder, and for a holder on another host, until the lock is released', async () => {
    const child = spawn('sleep', ['30']);
    try {
      for (const holder of [`${os.hostname()} ${child.pid}`, `another-host ${deadPid()}`, '']) {
        fs.writeFileSync(lock, holder);
        const r = await ranWithin(400);
        expect(r.ran(), `holder "${holder}"`).to.equal(false);
        fs.rmSync(lock);
        await r.done;
        expect(r.ran()).to.equal(true);
      }
    } finally {
      child.kill();
    }
  });
});
