import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A file-size limit (`ulimit -f`, SIGXFSZ ignored) makes the kernel write part of a buffer and
 * report the short count, as a nearly full disk does: plain fs.writeSync returns it silently,
 * writeAllSync must not.
 */
describe('shared/secure-file writeAllSync: a short write is finished or fails, never a silently short file', () => {
  it('plain writeSync stops at the limit and says so only in its count; writeAllSync throws', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'write-all-'));
    try {
      const module = path.resolve(__dirname, '../../../src/shared/secure-file.js');
      const script = `
        const fs = require('node:fs');
        const { writeAllSync } = require(${JSON.stringify(module)});
        const data = Buffer.alloc(300 * 1024, 7);
        const raw = fs.writeSync(fs.openSync(${JSON.stringify(path.join(dir, 'raw'))}, 'w'), data);
        let thrown = null;
        try { writeAllSync(fs.openSync(${JSON.stringify(path.join(dir, 'all'))}, 'w'), data); } catch (e) { thrown = e.code; }
        console.log(JSON.stringify({ raw, thrown }));`;
      const out = execFileSync('bash', ['-c', `ulimit -f 100; trap '' XFSZ; exec node -e "$0"`, script], { encoding: 'utf8' });
      expect(JSON.parse(out)).to.deep.equal({ raw: 100 * 1024, thrown: 'EFBIG' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
