import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DecryptingReader, EncryptingWriter, MAGIC } from '../../../src/ops/backup-archive.codec';

// the smallest scrypt cost the reader accepts: the tests are about the container, not the KDF
const KDF = { N: 1 << 14, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

function seal(dir: string, plain: Buffer, chunkSize = 1000): string {
  const file = path.join(dir, `b-${randomBytes(4).toString('hex')}.bak`);
  const fd = fs.openSync(file, 'wx', 0o600);
  const w = new EncryptingWriter(fd, PASS, { kdf: KDF, chunkSize });
  for (let i = 0; i < plain.length; i += 333) w.write(plain.subarray(i, i + 333));
  w.finish();
  fs.closeSync(fd);
  return file;
}

function open(file: string, pass = PASS, n?: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const r = new DecryptingReader(fd, pass);
    const out = r.read(n ?? 0);
    r.expectEnd();
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** Byte offsets of each chunk (its length field) after the header. */
function chunkOffsets(file: string): number[] {
  const b = fs.readFileSync(file);
  let at = MAGIC.length + 1 + 4 + b.readUInt32BE(MAGIC.length + 1);
  const offsets: number[] = [];
  while (at < b.length) {
    offsets.push(at);
    at += 4 + b.readUInt32BE(at);
  }
  return offsets;
}

describe('backup container (scrypt + AES-256-GCM chunks)', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-bak-'));
  const plain = randomBytes(4500);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips over several chunks, and holds no plaintext', () => {
    const file = seal(dir, plain);
    expect(chunkOffsets(file)).to.have.length(5);
    expect(open(file, PASS, plain.length).equals(plain)).to.equal(true);
    expect(fs.readFileSync(file).includes(plain.subarray(100, 132))).to.equal(false);
  });

  it('refuses a wrong passphrase with a clear message', () => {
    const file = seal(dir, plain);
    expect(() => open(file, 'not the passphrase', plain.length)).to.throw(/wrong passphrase/);
  });

  it('refuses a flipped byte, a dropped chunk, swapped chunks, a cut-off end and an edited header', () => {
    const file = seal(dir, plain);
    const original = fs.readFileSync(file);
    const offsets = chunkOffsets(file);
    const variant = (b: Buffer) => {
      const f = path.join(dir, `v-${randomBytes(4).toString('hex')}`);
      fs.writeFileSync(f, b);
      return f;
    };
    const flipped = Buffer.from(original);
    flipped[offsets[2]! + 50]! ^= 0x01;
    expect(() => open(variant(flipped), PASS, plain.length)).to.throw(/chunk 2 failed authentication/);
    const dropped = Buffer.concat([original.subarray(0, offsets[1]), original.subarray(offsets[2])]);
    expect(() => open(variant(dropped), PASS, plain.length)).to.throw(/chunk 1 failed authentication/);
    const swapped = Buffer.concat([
      original.subarray(0, offsets[1]),
      original.subarray(offsets[2], offsets[3]),
      original.subarray(offsets[1], offsets[2]),
      original.subarray(offsets[3]),
    ]);
    expect(() => open(variant(swapped), PASS, plain.length)).to.throw(/failed authentication/);
    const cut = original.subarray(0, offsets[4]);
    expect(() => open(variant(cut), PASS, plain.length)).to.throw(/truncated/);
    const header = Buffer.from(original);
    const at = header.indexOf('"chunkSize":1000');
    header.write('"chunkSize":1001', at);
    expect(() => open(variant(header), PASS, plain.length)).to.throw(/failed authentication/);
    const notOurs = Buffer.from(original);
    notOurs.write('XXXX', 0);
    expect(() => open(variant(notOurs))).to.throw(/not a Scepter backup/);
    const extra = Buffer.concat([original, Buffer.from('trailing')]);
    expect(() => open(variant(extra), PASS, plain.length)).to.throw(/damaged|extra bytes|truncated/);
  });
});
