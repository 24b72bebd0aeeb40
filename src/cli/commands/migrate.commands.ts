import readline from 'node:readline/promises';
import { Command, InvalidArgumentError } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { migrateAll } from '../../migration/migrate-all';
import { migrateAllText, stepText, statusText } from '../../migration/migration.presenter';
import type { MigrationService } from '../../migration/migration.service';
import { DEFAULT_GRACE_DAYS, DEFAULT_MIN_READY_PERCENT, type MigrationStep } from '../../migration/migration.types';
import { checkReportDir, validReportId, writeReport } from '../../migration/report-writer';
import type { PreparedStep, ProgressSink, StepResult, Ws1Source } from '../../migration/steps/step-context';
import { MISSING_WS1 } from '../../migration/steps/ws1-source';
import { AppError, BadRequestError } from '../../shared/errors';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { readSecret, readText } from './ws1.commands';

export const DEFAULT_REPORT_DIR = 'migration-reports';

interface CommonOpts {
  yes?: boolean;
  dryRun?: boolean;
  reportDir: string;
  ws1From?: string;
  ws1Url?: string;
  ws1Username?: string;
  ws1PasswordFile?: string;
  ws1ApiKeyFile?: string;
  ws1CaFile?: string;
}

class Cancelled extends AppError {
  constructor() {
    super('cancelled: nothing changed', { status: 400, code: 'cancelled' });
  }
}

/**
 * `scepter migrate status|plan|apply|verify|cutover|finalize|rollback` and `scepter migrate-all`.
 * Every run writes a JSON, CSV and Markdown report to --report-dir; mutating steps ask
 * first (or take --yes), --dry-run shows what would happen.
 */
export function registerMigrateCommands(program: Command): void {
  const migrate = program.command('migrate').description('move legacy ios-certs integrations to iOS App Config, then revoke their certificates');
  migrate
    .command('status')
    .description('every legacy integration: status, certificates, devices, migration state')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async (s) => {
        const v = await s.migration().status();
        output(cmd, v, () => statusText(v));
      }),
    );
  step(
    ws1Options(migrate.command('plan <legacyId>')),
    'plan',
    'changes nothing: readiness of every device against the live WS1 inventory, and what each step will do',
    (svc, id, o) => svc.plan(id, { actor: cliActor(), ws1: ws1Source(o), persist: !o.dryRun }),
  );
  step(
    ws1Options(migrate.command('apply <legacyId>')).option('--name <name>', 'name of the new App Config integration (default: "<legacy name> (App Config)")'),
    'apply',
    'create the App Config integration (disabled) with its WS1 settings and configuration key',
    (svc, id, o) => svc.apply(id, { actor: cliActor(), ws1: ws1Source(o), name: o.name as string | undefined }),
  );
  step(
    migrate.command('verify <legacyId>'),
    'verify',
    'Test Configuration and a sync of the App Config integration, then readiness against the synced inventory',
    (svc, id) => svc.verify(id, { actor: cliActor() }),
  );
  step(
    migrate
      .command('cutover <legacyId>')
      .option('--min-ready <percent>', 'least share of ready devices', percentArg, DEFAULT_MIN_READY_PERCENT)
      .option('--force', 'cut over even below --min-ready'),
    'cutover',
    'give the App Config integration the legacy scope and disable the legacy integration',
    (svc, id, o) => svc.cutover(id, { actor: cliActor(), minReady: o.minReady as number, force: Boolean(o.force) }),
  );
  step(
    migrate
      .command('finalize <legacyId>')
      .option('--grace <days>', 'days after cutover before finalize may run (0: now)', daysArg, DEFAULT_GRACE_DAYS)
      .option('--force', 'even if the legacy integration was re-activated and a policy requires trusted devices'),
    'finalize',
    'delete the legacy integration, revoking its certificates, and republish the CRL',
    (svc, id, o) => svc.finalize(id, { actor: cliActor(), graceDays: o.grace as number, force: Boolean(o.force) }),
  );
  step(
    migrate.command('rollback <legacyId>'),
    'rollback',
    'before finalize: restore the legacy status and group, disable the App Config integration',
    (svc, id) => svc.rollback(id, { actor: cliActor() }),
  );

  const all = ws1Options(program.command('migrate-all'))
    .description('every legacy integration in turn up to cutover, stopping at the first that is not ready')
    .option('--min-ready <percent>', 'least share of ready devices', percentArg, DEFAULT_MIN_READY_PERCENT)
    .option('--finalize', 'also finalize cut-over migrations whose grace period is over')
    .option('--grace <days>', 'with --finalize: days after cutover', daysArg, DEFAULT_GRACE_DAYS);
  common(all).action(async (o: CommonOpts & { minReady: number; finalize?: boolean; grace: number }, cmd: Command) =>
    withServices(cmd, async (s) => {
      checkReportDir(o.reportDir); // before anything runs
      const svc = s.migration();
      const ws1 = ws1Source(o);
      if (!o.dryRun)
        await confirm(
          o,
          `migrate-all: plan, apply, verify and cut over ${(await svc.legacyIds()).join(', ') || 'nothing'} in turn${o.finalize ? `, finalizing after ${o.grace} days` : ''}; stops at the first below ${o.minReady}% ready`,
        );
      const json = Boolean(cmd.optsWithGlobals().json);
      const summary = await reported(o.reportDir, 'migrate-all', null, () =>
        migrateAll(
          svc,
          { actor: cliActor(), ws1, minReady: o.minReady, finalize: Boolean(o.finalize), graceDays: o.grace, dryRun: Boolean(o.dryRun) },
          {
            progress: progressSink(json),
            onResult: (r) => {
              writeReport(o.reportDir, r);
              if (!json) process.stderr.write(`${stepText(r).split('\n')[0]}\n`);
            },
          },
        ),
      );
      const files = writeReport(o.reportDir, {
        step: 'migrate-all',
        legacyId: null,
        at: s.clock.now(),
        outcome: summary.stoppedAt ? 'stopped' : 'completed',
        ...summary,
      });
      output(cmd, { ...summary, reports: files }, () => `${migrateAllText(summary)}\nReport: ${files.markdown}`);
      if (summary.stoppedAt) process.exitCode = 1;
    }),
  );
}

type Prepare = (svc: MigrationService, legacyId: string, o: CommonOpts & Record<string, unknown>) => Promise<PreparedStep>;

/** One step: prepare (all checks), dry run or confirm, execute, report. */
function step(cmd: Command, name: MigrationStep, description: string, prepare: Prepare): void {
  common(cmd.description(description)).action(async (legacyId: string, o: CommonOpts & Record<string, unknown>, c: Command) =>
    withServices(c, async (s) => {
      validReportId(legacyId); // before anything runs or is reported
      checkReportDir(o.reportDir);
      const json = Boolean(c.optsWithGlobals().json);
      const result = await reported(o.reportDir, name, legacyId, async (): Promise<StepResult> => {
        const p = await prepare(s.migration(), legacyId, o);
        if (p.decision.kind !== 'run') return p.execute(progressSink(json)); // already done, or a report
        if (o.dryRun && name !== 'plan') return p.preview; // plan's dry run computes readiness but records nothing
        if (p.mutating) await confirm(o, stepText(p.preview, { confirming: true }));
        return p.execute(progressSink(json));
      });
      const files = writeReport(o.reportDir, result);
      output(c, { ...result, reports: files }, () => `${stepText(result)}\n\nReport: ${files.markdown} (and .json, .csv)`);
    }),
  );
}

function common(cmd: Command): Command {
  return cmd
    .option('--yes', 'do not ask for confirmation')
    .option('--dry-run', 'show what would happen; change nothing')
    .option('--report-dir <dir>', 'where the JSON, CSV and Markdown reports go', DEFAULT_REPORT_DIR);
}

function ws1Options(cmd: Command): Command {
  return cmd
    .option('--ws1-from <integrationId>', 'use (copy) the WS1 API settings of this integration (same tenant)')
    .option('--ws1-url <url>', 'WS1 API host or https URL')
    .option('--ws1-username <user>', 'read-only WS1 admin account')
    .option('--ws1-password-file <file>', 'file holding its password ("-": standard input)')
    .option('--ws1-api-key-file <file>', 'file holding the REST API key ("-": standard input)')
    .option('--ws1-ca-file <file>', 'extra trust anchor (PEM) for an on-premises WS1');
}

/** A failed run also leaves a report saying what was attempted and why it stopped. */
async function reported<T>(dir: string, step: string, legacyId: string | null, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const error = err instanceof AppError && err.expose ? err.message : 'internal error';
    try {
      writeReport(dir, { step, legacyId, outcome: 'error', at: new Date(), error });
    } catch {
      // the error itself matters more than its report
    }
    throw err;
  }
}

function ws1Source(o: CommonOpts): Ws1Source | undefined {
  const entered = [o.ws1Url, o.ws1Username, o.ws1PasswordFile, o.ws1ApiKeyFile];
  if (o.ws1From) {
    if (entered.some((v) => v !== undefined) || o.ws1CaFile) throw new BadRequestError('give either --ws1-from or the --ws1-* settings, not both');
    return { fromIntegration: o.ws1From };
  }
  if (entered.every((v) => v === undefined) && !o.ws1CaFile) return undefined;
  if (entered.some((v) => v === undefined)) throw new BadRequestError(MISSING_WS1);
  if (o.ws1PasswordFile === '-' && o.ws1ApiKeyFile === '-')
    throw new BadRequestError('only one of --ws1-password-file and --ws1-api-key-file can be "-" (standard input)');
  return {
    settings: {
      baseUrl: o.ws1Url!,
      username: o.ws1Username!,
      password: readSecret('--ws1-password-file', o.ws1PasswordFile!),
      apiKey: readSecret('--ws1-api-key-file', o.ws1ApiKeyFile!),
      caPem: o.ws1CaFile ? readText('--ws1-ca-file', o.ws1CaFile) : null,
    },
  };
}

/** --yes, or a yes on the terminal; without a terminal, refuse (scripts must say --yes). */
async function confirm(o: CommonOpts, preview: string): Promise<void> {
  if (o.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new BadRequestError('refusing to change anything without --yes (no terminal to confirm on); --dry-run shows what would happen');
  process.stderr.write(`${preview}\n`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    if (!/^y(es)?$/i.test((await rl.question('Proceed? [y/N] ')).trim())) throw new Cancelled();
  } finally {
    rl.close();
  }
}

/** A progress bar on a terminal (stderr), nothing otherwise. */
function progressSink(json: boolean): ProgressSink | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  let bar: SingleBar | undefined;
  let label = '';
  return {
    start: (l) => {
      label = l;
    },
    // the bar appears with the first figures: WS1 says how many devices only in its first answer
    update: (value, total) => {
      if (!bar) {
        bar = new SingleBar({ stream: process.stderr, format: `${label} |{bar}| {value}/{total}`, hideCursor: true }, Presets.shades_classic);
        bar.start(total ?? value, 0);
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(value);
    },
    stop: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}

function percentArg(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n > 100) throw new InvalidArgumentError('a percentage from 0 to 100');
  return n;
}

function daysArg(v: string): number {
  if (!/^\d{1,4}$/.test(v)) throw new InvalidArgumentError('a whole number of days');
  return Number(v);
}
