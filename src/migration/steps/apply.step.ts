import { randomId } from '../../admin/secret-token';
import type { Integration } from '../../integrations/integration.types';
import { generateConfigKey } from '../../mdm/workspace-one/app-config';
import { BadRequestError } from '../../shared/errors';
import { hasUnprintable } from '../../shared/printable-text';
import { resolveWs1 } from './ws1-source';
import { alreadyDone, auditRecord, baseResult, loadForStep, MigrationDeps, PreparedStep, StepOptions } from './step-context';

/**
 * apply: creates the App Config (ios) integration, status disabled, with its WS1 settings (new, or
 * copied from an existing WS1 integration of the same tenant), Configuration Key and Identifier,
 * all in one transaction with the state change. After a rollback the earlier App Config
 * integration is reused (its key is already in WS1), and takes new WS1 settings only if given.
 */
export async function prepareApply(deps: MigrationDeps, legacyId: string, opts: StepOptions & { name?: string }): Promise<PreparedStep> {
  const { legacy, record, decision } = await loadForStep(deps, 'apply', legacyId);
  const now = deps.clock.now();
  if (decision.kind === 'done') return alreadyDone('apply', legacy, record!, now, { appConfig: await deps.appConfig(record!.appConfigId!) });
  const reuse = record?.appConfigId ? await deps.integrations.findIntegration(record.appConfigId) : undefined;
  const reusable = reuse && !reuse.deletedAt && reuse.type === 'ios' ? reuse : undefined;
  // the reused integration keeps its settings unless new ones are given
  const ws1 =
    reusable && !opts.ws1 && (await deps.ws1.hasSettings(reusable.id))
      ? undefined
      : await resolveWs1(deps, opts.ws1, record ? { ...record, appConfigId: null } : undefined);
  const name = checkName(opts.name ?? `${legacy.name} (App Config)`);
  const id = reusable?.id ?? randomId('DI');
  const configKey = reusable ? undefined : generateConfigKey();
  // a new integration's id is drawn when the step runs: a dry run (another process) cannot know it
  // and names none, rather than an id the real apply would not use
  const preview = { ...baseResult('apply', legacy, record, now), appConfigId: reusable ? id : null };
  preview.actions = [
    reusable
      ? `reuse the App Config (ios) integration ${id} "${reusable.name}" (status disabled)`
      : `create an App Config (ios) integration "${name}" with status disabled (its id is assigned when it is created)`,
    ws1 ? `store its WS1 API settings: ${ws1.description}` : 'keep its WS1 API settings',
    reusable ? 'keep its Trusted Endpoints Configuration Key' : 'generate its Trusted Endpoints Configuration Key; Identifier value {DeviceUid}',
    'then paste the Application Configuration shown below into WS1 (Duo Mobile > Assignment > Application Configuration)',
  ];
  return {
    decision,
    preview,
    mutating: true,
    execute: async () => {
      const at = deps.clock.now();
      const integration: Integration | undefined = reusable
        ? undefined
        : {
            id,
            name,
            type: 'ios',
            status: 'disabled',
            groupName: null,
            subjectTemplate: null,
            challengeUsername: null,
            challengePasswordHash: null,
            createdAt: at,
            updatedAt: at,
            deletedAt: null,
          };
      const audit = [
        ...(integration ? [auditRecord(opts.actor, 'integration.create', id, { type: 'ios', name, legacy: false, migratedFrom: legacy.id }, at)] : []),
        ...(ws1
          ? [
              auditRecord(
                opts.actor,
                'integration.ws1.configure',
                id,
                {
                  baseUrl: ws1.complete.baseUrl,
                  username: ws1.complete.username,
                  copiedFrom: ws1.sourceId,
                  changed: ['baseUrl', 'username', 'password', 'apiKey'],
                },
                at,
              ),
            ]
          : []),
        auditRecord(
          opts.actor,
          'migration.apply',
          legacy.id,
          { from: decision.kind === 'run' ? decision.from : null, appConfigId: id, reused: Boolean(reusable) },
          at,
        ),
      ];
      const saved = await deps.store.apply({
        legacyId: legacy.id,
        from: 'planned',
        now: at,
        audit,
        appConfigId: id,
        create: integration && configKey ? { integration, configKey } : undefined,
        ws1Settings: ws1 ? deps.ws1.seal(id, ws1.complete, at) : undefined,
        ws1SourceId: ws1?.sourceId ?? record?.ws1SourceId ?? null,
        beforeCommit: () => deps.crashPoint('apply:before-commit'),
      });
      const created = integration ? [`created the App Config (ios) integration ${id} "${name}" with status disabled`] : [];
      return {
        ...preview,
        appConfigId: id,
        actions: [...created, ...preview.actions.slice(integration ? 1 : 0)],
        at,
        outcome: 'done',
        state: saved.state,
        appConfig: await deps.appConfig(id),
      };
    },
  };
}

function checkName(name: string): string {
  const s = name.trim();
  if (!s || s.length > 200) throw new BadRequestError('--name must be 1 to 200 characters');
  if (hasUnprintable(s)) throw new BadRequestError('--name contains control or invisible formatting characters');
  return s;
}
