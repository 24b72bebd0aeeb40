import { writeFileAtomic } from '../../shared/secure-file';
import path from 'node:path';
import { Command, Option } from 'commander';
import { INTEGRATION_STATUSES, INTEGRATION_TYPES, IOS_CERTS_EOL_NOTICE } from '../../integrations/integration.types';
import { integrationText } from '../../integrations/integration.presenter';
import { DEFAULT_ROTATION_GRACE } from '../../integrations/challenge-rotation';
import { output, withServices } from '../cli-context';
import { cliActor } from './admin.commands';
import { ws1ShowExtras, ws1ShowText } from '../../mdm/workspace-one/ws1-show.presenter';
import { cliText, escapeText } from '../../shared/terminal-text';

/**
 * `scepter integration ...`. Returns the command group so other command files can add their
 * subcommands (e.g. `integration delete`).
 */
export function registerIntegrationCommands(program: Command): Command {
  // find-or-create: other command files add to the same group, in any order
  const integration =
    program.commands.find((c) => c.name() === 'integration') ??
    program.command('integration').description('integrations (windows, macos, android, ios, ios-certs)');
  integration
    .command('create')
    .description('create an integration (status disabled); prints what `show` prints, with the challenge password once')
    .addOption(new Option('--type <type>', 'integration type').choices([...INTEGRATION_TYPES]).makeOptionMandatory())
    .requiredOption('--name <name>', 'display name')
    .option('--allow-legacy', 'create an end-of-life ios-certs (certificate) integration anyway')
    .action(async (opts: { type: string; name: string; allowLegacy?: boolean }, cmd: Command) =>
      withServices(cmd, async ({ integrations }) => {
        const v = await integrations.create({ type: opts.type, name: opts.name, allowLegacy: Boolean(opts.allowLegacy) }, cliActor());
        if (v.type === 'ios-certs') process.stderr.write(`scepter: warning: ${IOS_CERTS_EOL_NOTICE.split(' Pass --allow-legacy')[0]}\n`);
        output(cmd, v, () => integrationText(v));
      }),
    );
  integration
    .command('list')
    .description('integrations that are not deleted')
    .action(async (_opts, cmd: Command) =>
      withServices(cmd, async ({ integrations }) => {
        const all = await integrations.list();
        output(cmd, { integrations: all }, () =>
          all.length
            ? all
                .map(
                  (i) => `${escapeText(i.id)}  ${i.type.padEnd(9)}  ${escapeText(i.status + (i.group ? `:${i.group}` : '')).padEnd(18)}  ${escapeText(i.name)}`,
                )
                .join('\n')
            : 'no integrations',
        );
      }),
    );
  integration
    .command('show <id>')
    .description('one integration; for ios-certs the Workspace ONE Certificate Authority and Template settings')
    .action(async (id: string, _opts, cmd: Command) =>
      withServices(cmd, async (s) => {
        const v = await s.integrations.show(id);
        const ws1 = await ws1ShowExtras(s, v.id, v.type); // WS1 API settings, sync state, App Config key
        output(cmd, { ...v, ...ws1 }, () => [integrationText(v), ws1ShowText(ws1)].filter(Boolean).join('\n\n'));
      }),
    );
  integration
    .command('status <id> <status>')
    .description(`set the status: ${INTEGRATION_STATUSES.join(' | ')} (test-group needs --group)`)
    .option('--group <name>', 'the user group for status test-group')
    .action(async (id: string, status: string, opts: { group?: string }, cmd: Command) =>
      withServices(cmd, async ({ integrations }) => {
        const v = await integrations.setStatus(id, status, opts.group, cliActor());
        output(cmd, v, () => cliText`${v.id}: status ${v.status}${v.group ? ` (group ${v.group})` : ''}`);
      }),
    );
  integration
    .command('rotate-challenge-credentials <id>')
    .description('new challenge password for an ios-certs integration (shown once; update WS1); the old one keeps working for --grace')
    .option('--grace <duration>', 'how long the old password keeps working, e.g. 24h, 90m, 7d; 0 ends it now (after a leak)', DEFAULT_ROTATION_GRACE)
    .option('--expire-unused-challenges', 'also expire every challenge already minted and not yet used (after a leak)')
    .action(async (id: string, opts: { grace: string; expireUnusedChallenges?: boolean }, cmd: Command) =>
      withServices(cmd, async ({ integrations }) => {
        const v = await integrations.rotateChallengeCredentials(id, cliActor(), {
          grace: opts.grace,
          expireUnusedChallenges: Boolean(opts.expireUnusedChallenges),
        });
        output(cmd, v, () =>
          [
            cliText`Challenge Username: ${v.challengeUsername}`,
            cliText`Challenge Password: ${v.challengePassword}`,
            '(shown once: paste it into the WS1 Certificate Authority now)',
            v.previousPasswordValidUntil
              ? `The previous password keeps working until ${v.previousPasswordValidUntil}.`
              : 'The previous password no longer works.',
            ...(opts.expireUnusedChallenges ? [`Expired ${v.expiredChallenges} unused challenge(s).`] : []),
          ].join('\n'),
        );
      }),
    );
  integration
    .command('set-subject-template <id> <template>')
    .description('the certificate subject template of an ios-certs integration, e.g. "CN={DeviceUid},OU=<id>"')
    .action(async (id: string, template: string, _opts, cmd: Command) =>
      withServices(cmd, async ({ integrations }) => {
        const v = await integrations.setSubjectTemplate(id, template, cliActor());
        output(cmd, v, () => cliText`${v.id}: Subject Name ${v.subjectName}`);
      }),
    );
  integration
    .command('profile <id>')
    .description('write an unsigned iOS configuration profile (SCEP payload with a fresh one-time challenge) for tests without WS1')
    .requiredOption('--out <file>', 'where to write the .mobileconfig')
    .option('--device-uid <uid>', 'the value for {DeviceUid} (default: a made-up TEST-... identifier)')
    .action(async (id: string, opts: { out: string; deviceUid?: string }, cmd: Command) =>
      withServices(cmd, async ({ profiles }) => {
        const p = await profiles.build(id, opts.deviceUid, cliActor());
        const file = path.resolve(opts.out);
        writeFileAtomic(file, p.mobileconfig); // it holds a live challenge: 0600 even over an existing file
        const info = { file, deviceUid: p.deviceUid, challengeExpiresAt: p.challengeExpiresAt.toISOString() };
        output(cmd, info, () => cliText`wrote ${file}\nDevice UID: ${info.deviceUid}\nIts one-time challenge expires ${info.challengeExpiresAt}`);
      }),
    );
  return integration;
}
