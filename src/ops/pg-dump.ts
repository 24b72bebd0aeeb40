import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { BackupError } from './backup-archive.codec';

/**
 * A PostgreSQL URL split for pg_dump/pg_restore: the password travels in PGPASSWORD, never in
 * argv (visible to every user of the machine through ps).
 */
function connection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  // pg_dump and pg_restore get this process's whole environment (PATH, PG* variables, locale), not settings
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env };
}

function run(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new BackupError(
          e.code === 'ENOENT'
            ? `${tool} is not installed (PostgreSQL's client tools, of the server's major version or newer, are needed here)`
            : `${tool} could not start: ${e.message}`,
        ),
      ),
    );
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new BackupError(`${tool} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ').slice(0, 500)}`)),
    );
  });
}

/** pg_dump's custom format into `file` (mode 0600): one consistent snapshot while the servers run. */
export async function pgDump(url: string, file: string): Promise<void> {
  fs.closeSync(fs.openSync(file, 'wx', 0o600));
  const c = connection(url);
  await run('pg_dump', ['--format=custom', '--no-owner', `--file=${file}`, `--dbname=${c.dbname}`], c.env);
}

/** pg_restore into an existing database, stopping at the first error. */
export async function pgRestore(url: string, file: string): Promise<void> {
  const c = connection(url);
  await run('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${c.dbname}`, file], c.env);
}
