import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs openssl and returns stdout (stderr folded in); never throws: tests assert on the text. */
export function openssl(args: string[], input?: string | Buffer): { ok: boolean; out: string } {
  try {
    const out = execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
    return { ok: true, out };
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return { ok: false, out: `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}` };
  }
}

export function tempFile(name: string, content: string | Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-ossl-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}
