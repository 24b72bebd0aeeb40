import { Command } from 'commander';
import { loadHomeConfig } from '../../config/config-file';
import { caKeyPassphraseVariable } from '../../config/environment';
import { AppError, ConfigError } from '../../shared/errors';
import { createBackup } from '../../ops/backup.service';
import { restoreBackup } from '../../ops/restore.service';
import { readPassphrase } from '../../ops/passphrase';
import { BackupError } from '../../ops/backup-archive.codec';
import { output } from '../cli-context';
import { shellWord } from '../shell-word';

/** Progress on stderr (stdout stays the result): a line per phase, then at most one a second. */
function progress(verb: string): (phase: string, done: number, total: number) => void {
  let last = 0;
  let lastPhase = '';
  const size = (n: number) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
  return (phase, done, total) => {
    const now = Date.now();
    const final = total > 0 && done >= total;
    if (phase === lastPhase && !final && now - last < 1000) return;
    lastPhase = phase;
    last = now;
    const pct = total ? Math.floor((done / total) * 100) : 0;
    process.stderr.write(
      phase === 'snapshot'
        ? `${verb}: ${done ? 'database snapshot taken' : 'taking a database snapshot'}\n`
        : `${verb}: ${phase} ${size(done)} of ${size(total)} (${pct}%)\n`,
    );
  };
}

/** Runs a command without the service stack (no CA or database is opened or created): one-line errors, exit codes. */
async function run(cmd: Command, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    process.exitCode = err instanceof ConfigError ? 2 : 1;
    const message = err instanceof AppError && (err.expose || err instanceof ConfigError) ? err.message : err instanceof Error ? err.message : String(err);
    if (cmd.optsWithGlobals().json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    else process.stderr.write(`scepter: ${message}\n`);
  }
}

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('encrypted, consistent backup of the database (SQLite snapshot, or pg_dump on PostgreSQL) and the certs directory, safe while the server runs')
    .requiredOption('--out <file>', 'the backup file to write (mode 0600)')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file (else it is asked for)')
    .option('--force', 'replace an existing --out file')
    .action(async (opts: { out: string; passphraseFile?: string; force?: boolean }, cmd: Command) =>
      run(cmd, async () => {
        const config = loadHomeConfig();
        const passphrase = await readPassphrase({ file: opts.passphraseFile, confirm: true });
        const r = await createBackup(config, { out: opts.out, passphrase, force: opts.force, onProgress: progress('backup') });
        for (const w of r.warnings) process.stderr.write(`scepter: warning: ${w}\n`);
        output(cmd, r, () =>
          [
            `Backup written to ${r.file} (${(r.bytes / 1048576).toFixed(1)} MiB, mode 0600) in ${(r.ms.total / 1000).toFixed(1)} s`,
            r.dialect === 'sqlite'
              ? `Database: SQLite snapshot with ${r.certificates} ${r.certificates === 1 ? 'certificate' : 'certificates'} (snapshot ${(r.ms.snapshot / 1000).toFixed(1)} s)`
              : `Database: pg_dump of PostgreSQL (${(r.ms.snapshot / 1000).toFixed(1)} s)`,
            `Files: ${r.files.join(', ')}`,
            'Keep the passphrase apart from the file: without it the backup cannot be read.',
          ].join('\n'),
        );
      }),
    );
  program
    .command('restore')
    .description('decrypt a backup into a new home directory, check keys against certificates and the database, then move it into place')
    .argument('<file>', 'the backup file')
    .requiredOption('--to <dir>', 'the directory to restore into (must be new or empty)')
    .option('--passphrase-file <file>', 'read the passphrase from the first line of this file (else it is asked for)')
    .option('--force', 'replace the contents of a non-empty --to directory')
    .option('--database <url>', 'a backup of PostgreSQL: the empty database (postgres://...) to pg_restore it into')
    .action(async (file: string, opts: { to: string; passphraseFile?: string; force?: boolean; database?: string }, cmd: Command) =>
      run(cmd, async () => {
        const passphrase = await readPassphrase({ file: opts.passphraseFile, confirm: false });
        if (opts.database && !/^postgres(ql)?:\/\//.test(opts.database)) throw new BackupError('--database takes a postgres:// URL');
        const r = await restoreBackup({
          file,
          to: opts.to,
          passphrase,
          force: opts.force,
          database: opts.database,
          keyPassphrase: caKeyPassphraseVariable(),
          onProgress: progress('restore'),
        });
        // the restored home has the default layout (data/scepter.sqlite, certs/), so SCEPTER_HOME is
        // all a server needs on SQLite; a PostgreSQL restore also names its database
        const env: Record<string, string> = { SCEPTER_HOME: r.home };
        if (r.database && !r.pendingDump && /^postgres(ql)?:\/\//.test(r.database)) env.SCEPTER_DATABASE = r.database;
        const start = Object.entries(env)
          .map(([k, v]) => `${k}=${shellWord(v)}`)
          .join(' ');
        output(cmd, { ...r, env }, () =>
          [
            `Restored the backup of ${r.createdAt} into ${r.home} in ${(r.ms / 1000).toFixed(1)} s`,
            ...r.checks.map((c) => `  ok  ${c}`),
            r.migrationsApplied.length ? `Migrations applied: ${r.migrationsApplied.join(', ')}` : 'No migrations needed.',
            ...(r.pendingDump
              ? [
                  'The PostgreSQL dump is not restored yet: into an empty database (createdb), run',
                  `  scepter restore ${file} --to <new dir> --database postgres://...   or   pg_restore --no-owner --dbname=postgres://... ${r.pendingDump}`,
                ]
              : [
                  'Start a server on it from the Scepter checkout with:',
                  `  ${start} npm start`,
                  ...(env.SCEPTER_DATABASE?.includes(':***@') ? ['  (put the database password back in place of ***)'] : []),
                  `The backup holds no scepter.env: copy the old home's into ${r.home} (mode 0600) to keep its public URL, ports and other settings.`,
                ]),
          ].join('\n'),
        );
      }),
    );
}
