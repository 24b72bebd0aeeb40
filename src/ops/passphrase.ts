import { MAX_SECRET_FILE_BYTES, readBoundedText } from '../shared/bounded-file';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { BackupError } from './backup-archive.codec';

export const MIN_PASSPHRASE = 12;

/**
 * The backup passphrase: the first line of --passphrase-file, or typed at a prompt (not echoed;
 * asked twice for a new backup). Never an argument: argv is visible to every user of the machine.
 */
export async function readPassphrase(opts: { file?: string; confirm: boolean }): Promise<string> {
  let pass: string;
  if (opts.file) {
    try {
      pass = readBoundedText(opts.file, MAX_SECRET_FILE_BYTES).split(/\r?\n/)[0] ?? '';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new BackupError(
        `cannot read the passphrase file ${opts.file}: ${code === 'EFBIG' ? `larger than ${MAX_SECRET_FILE_BYTES} bytes` : (code ?? 'error')}`,
      );
    }
  } else {
    if (!process.stdin.isTTY) throw new BackupError('no passphrase: give --passphrase-file FILE (there is no terminal to ask on)');
    pass = await prompt('Backup passphrase: ');
    if (opts.confirm && (await prompt('Repeat the passphrase: ')) !== pass) throw new BackupError('the two passphrases differ');
  }
  if (!pass) throw new BackupError('the passphrase is empty');
  if (opts.confirm && pass.length < MIN_PASSPHRASE) throw new BackupError(`the passphrase must be at least ${MIN_PASSPHRASE} characters`);
  return pass;
}

function prompt(question: string): Promise<string> {
  process.stderr.write(question);
  const muted = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const rl = readline.createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
