import { readBoundedText } from '../../shared/bounded-file';
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { Ws1SettingsInput } from '../../mdm/workspace-one/ws1-settings.service';
import type { SyncOutcome } from '../../mdm/workspace-one/ws1-sync.service';
import { BadRequestError } from '../../shared/errors';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { cliText, escapeText } from '../../shared/terminal-text';
import { count } from '../../shared/plural';

/** Adds to an existing command group, or creates it: groups are registered by several files. */
function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/**
 * Workspace ONE: `integration configure|test|sync` and `device search`. Secrets come
 * from files or standard input, never from the command line (it shows in `ps` and shell history).
 */
export function registerWs1Commands(program: Command): void {
  const integration = group(program, 'integration', 'integrations (windows, macos, android, ios, ios-certs)');
  integration
    .command('configure <id>')
    .description('Workspace ONE API settings of a windows/macos/android/ios integration (secrets from files; "-" = standard input)')
    .option('--ws1-url <url>', 'WS1 API host (as1234.awmdm.com) or https URL')
    .option('--ws1-username <user>', 'read-only WS1 admin account')
    .option('--ws1-password-file <file>', 'file holding its password ("-": standard input)')
    .option('--ws1-api-key-file <file>', 'file holding the REST API key, sent as aw-tenant-code ("-": standard input)')
    .option('--ws1-ca-file <file>', 'extra trust anchor (PEM) for an on-premises WS1 with a private CA')
    .action(
      async (id: string, opts: { ws1Url?: string; ws1Username?: string; ws1PasswordFile?: string; ws1ApiKeyFile?: string; ws1CaFile?: string }, cmd: Command) =>
        withServices(cmd, async ({ ws1Settings }) => {
          if (opts.ws1PasswordFile === '-' && opts.ws1ApiKeyFile === '-')
            throw new BadRequestError('only one of --ws1-password-file and --ws1-api-key-file can be "-" (standard input)');
          const input: Ws1SettingsInput = {
            baseUrl: opts.ws1Url,
            username: opts.ws1Username,
            password: opts.ws1PasswordFile === undefined ? undefined : readSecret('--ws1-password-file', opts.ws1PasswordFile),
            apiKey: opts.ws1ApiKeyFile === undefined ? undefined : readSecret('--ws1-api-key-file', opts.ws1ApiKeyFile),
            caPem: opts.ws1CaFile === undefined ? undefined : readText('--ws1-ca-file', opts.ws1CaFile),
          };
          const v = await ws1Settings.configure(id, input, cliActor());
          output(
            cmd,
            v,
            () =>
              cliText`${v.integrationId}: Workspace ONE API settings saved (${v.baseUrl}, user ${v.username}, platform ${v.platform}; password and API key encrypted)\nCheck them with: scepter integration test ${v.integrationId}`,
          );
        }),
    );
  integration
    .command('test <id>')
    .description('Test Configuration: ask WS1 for one device with the stored settings')
    .action(async (id: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ ws1Settings }) => {
        const r = await ws1Settings.test(id);
        output(cmd, { ok: r.ok, message: r.message, ...(r.reason ? { reason: r.reason } : {}) }, () => escapeText(r.message));
        if (!r.ok) process.exitCode = 1;
      }),
    );
  integration
    .command('sync <id>')
    .description('sync the managed devices from WS1 now (the previous inventory stays if it fails)')
    .action(async (id: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ ws1Sync }) => {
        const json = Boolean(cmd.optsWithGlobals().json);
        const bar =
          !json && process.stderr.isTTY
            ? new SingleBar(
                { stream: process.stderr, format: 'WS1 sync |{bar}| {value}/{total} devices, page {page}, {managed} managed', hideCursor: true },
                Presets.shades_classic,
              )
            : undefined;
        let started = false;
        let outcome: SyncOutcome | undefined;
        try {
          outcome = await ws1Sync.sync(id, {
            actor: cliActor(),
            onProgress: (p) => {
              if (!bar) return;
              if (!started) bar.start(p.total, 0, { page: 0, managed: 0 });
              started = true;
              bar.setTotal(Math.max(p.total, p.fetched));
              bar.update(p.fetched, { page: p.page + 1, managed: p.managed });
            },
          });
        } finally {
          bar?.stop();
        }
        const o = outcome!;
        output(cmd, o, () =>
          o.ok
            ? cliText`Synced ${count(o.managed, 'managed device')} (${o.fetched} fetched on ${o.pages} page(s)) in ${(o.durationMs / 1000).toFixed(1)} s; last good sync ${o.syncedAt}`
            : escapeText(o.message),
        );
        if (!o.ok) process.exitCode = 1;
      }),
    );

  const device = group(program, 'device', 'devices');
  device
    .command('search <integration> <identifier>')
    .description('is a device in the synced inventory? (UDID, serial number, MAC address or IMEI; case-insensitive)')
    .action(async (integrationId: string, identifier: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ ws1Sync }) => {
        const r = await ws1Sync.search(integrationId, identifier);
        output(cmd, r, () => {
          const synced = cliText`last good sync ${r.lastSuccessAt ?? 'never'}`;
          if (!r.device) return `${cliText`Not found: no managed device of ${r.integrationId} has the identifier ${r.identifier}`} (${synced})`;
          const d = r.device;
          return [
            `${cliText`Found in ${r.integrationId}`} (${synced})`,
            cliText`  UDID:              ${d.udid}`,
            cliText`  Serial number:     ${d.serialNumber ?? '-'}`,
            cliText`  MAC address:       ${d.macAddress ?? '-'}`,
            cliText`  IMEI:              ${d.imei ?? '-'}`,
            cliText`  Platform:          ${d.platform}`,
            cliText`  Enrollment status: ${d.enrollmentStatus}`,
            cliText`  Last seen:         ${d.lastSeen ?? '-'}`,
            cliText`  User:              ${d.userName ?? '-'}`,
            cliText`  Synced at:         ${d.syncedAt ?? '-'}`,
          ].join('\n');
        });
      }),
    );
}

/** A secret from a file or standard input, without its final line break; the content is never echoed. */
export function readSecret(option: string, file: string): string {
  return readText(option, file).replace(/\r?\n$/, '');
}

export function readText(option: string, file: string): string {
  try {
    // a CA bundle or a secret: a megabyte is far more than either
    return readBoundedText(file, 1024 * 1024);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BadRequestError(
      `cannot read ${option} ${file === '-' ? '(standard input)' : file}: ${code === 'EFBIG' ? 'larger than 1 MiB' : (code ?? 'error')}`,
    );
  }
}
