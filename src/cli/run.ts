import { CommanderError } from 'commander';
import { buildProgram } from './index';
import { escapeText } from '../shared/terminal-text';

/**
 * Runs the `scepter` program on `argv`. Argument errors (unknown option, missing argument) follow
 * `--json` like every other error: `{"error": ...}` on stdout and a non-zero exit, with no usage
 * text mixed in; without --json commander's message and the help go to stderr.
 */
export async function runCli(argv: string[]): Promise<void> {
  const json = argv.slice(2).includes('--json');
  const program = buildProgram({ json });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      if (err.exitCode !== 0 && json) process.stdout.write(JSON.stringify({ error: err.message.replace(/^error: /, '') }) + '\n');
      return;
    }
    process.exitCode = 1;
    const message = err instanceof Error ? err.message : String(err);
    if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    else process.stderr.write(`scepter: ${escapeText(message)}\n`);
  }
}
