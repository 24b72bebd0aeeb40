import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Owner-only modes for everything Scepter writes that holds device data, keys or live challenges. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Writes `content` to `file` with `mode` whether or not the file existed: a temporary file in the
 * same directory (created with the mode, so no reader ever sees the data under a wider one),
 * fsync, rename over the target, fsync of the directory. A reader sees the old content or the new,
 * never half of it, and an existing file's wider mode does not survive the write.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array, mode = PRIVATE_FILE_MODE): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, content);
    // the umask may have narrowed the mode further, never widened it; set it exactly
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDirectory(dir);
}

/**
 * Creates `dir` (and parents) owner-only (0700), and narrows an existing one to 0700 when it is
 * ours to narrow: owned by this user and not a shared directory (sticky bit, like /tmp), so a
 * database placed directly in /tmp never locks others out of /tmp.
 */
export function securePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = fs.statSync(dir);
  const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
  if (mine && !(st.mode & 0o1000) && (st.mode & 0o777) !== PRIVATE_DIR_MODE) fs.chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Sets 0600 on each of `files` that exists (e.g. a database and its -wal and -shm files). */
export function restrictExisting(files: string[]): void {
  for (const f of files) {
    try {
      fs.chmodSync(f, PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Creates `file` empty with mode 0600 if it does not exist (so whatever opens it next inherits 0600). */
export function createPrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Processes that write keys, databases and reports create them owner-only unless told otherwise. */
export function restrictUmask(): void {
  process.umask(0o077);
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes all of `data` at the descriptor's position. `fs.writeSync` may write fewer bytes than asked
 * (a nearly full disk, some file systems) and says so only in its return value; this writes the
 * rest, and a write that makes no progress throws ENOSPC rather than leaving a short file behind.
 */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) {
    const n = fs.writeSync(fd, data, at, data.length - at);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    at += n;
  }
}
