import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readBoundedText } from '../../../src/shared/bounded-file';

describe('shared/bounded-file readBoundedText: a secret file of the wrong kind fails at once', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounded-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a file up to the limit exactly', () => {
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, 'x'.repeat(64));
    expect(readBoundedText(file, 64)).to.equal('x'.repeat(64));
    fs.writeFileSync(file, 'Zoë\n');
    expect(readBoundedText(file, 64)).to.equal('Zoë\n');
  });

  it('refuses one byte more, and an endless file such as /dev/zero, with EFBIG', () => {
    const file = path.join(dir, 'big');
    fs.writeFileSync(file, 'x'.repeat(65));
    expect(() => readBoundedText(file, 64))
      .to.throw()
      .with.property('code', 'EFBIG');
    expect(() => readBoundedText('/dev/zero', 64 * 1024))
      .to.throw()
      .with.property('code', 'EFBIG');
  });

  it('passes on the system error of a missing file', () => {
    expect(() => readBoundedText(path.join(dir, 'missing'), 64))
      .to.throw()
      .with.property('code', 'ENOENT');
  });

  it('reads standard input ("-") with the same bound', () => {
    const module = path.resolve(__dirname, '../../../src/shared/bounded-file.js');
    const script = `try { console.log(JSON.stringify(require(${JSON.stringify(module)}).readBoundedText('-', 16))) } catch (e) { console.log(e.code) }`;
    expect(spawnSync('node', ['-e', script], { input: 'short secret\n', encoding: 'utf8' }).stdout.trim()).to.equal('"short secret\\n"');
    expect(spawnSync('node', ['-e', script], { input: 'x'.repeat(100), encoding: 'utf8' }).stdout.trim()).to.equal('EFBIG');
  });
});
