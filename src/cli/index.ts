#!/usr/bin/env node
import { Command } from 'commander';
import { registerCaCommands } from './commands/ca.commands';

/**
 * `scepter`: every admin action, each with --json for scripts. Command groups live in
 * ./commands/<group>.commands.ts and register themselves here.
 */
export function buildProgram(): Command {
  const program = new Command('scepter')
    .description('Scepter: SCEP certificate authority and device-trust migration service')
    .option('--json', 'machine-readable JSON output')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCaCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((err) => {
    process.stderr.write(`scepter: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
