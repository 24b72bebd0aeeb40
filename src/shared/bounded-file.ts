import fs from 'node:fs';

/** A secret or setting read from a file: more than this is not what the option means (a wrong path, /dev/zero). */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * The text of `file` (`'-'`: standard input), refusing more than `maxBytes` after reading at most one
 * byte more: a wrong path such as /dev/zero or a log file fails at once instead of filling memory.
 * Errors carry a `code` (the system's, or `EFBIG`) for the caller's own message.
 */
export function readBoundedText(file: string, maxBytes: number): string {
  const fd = file === '-' ? 0 : fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      let r: number;
      try {
        r = fs.readSync(fd, buf, n, buf.length - n, null);
      } catch (err) {
        // a non-blocking standard input with nothing yet: wait a little, as readFileSync would block
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (r === 0) return buf.subarray(0, n).toString('utf8');
      n += r;
    }
    throw Object.assign(new Error(`larger than ${maxBytes} bytes`), { code: 'EFBIG' });
  } finally {
    if (fd !== 0) fs.closeSync(fd);
  }
}
