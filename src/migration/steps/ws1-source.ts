import type { Ws1ClientSettings } from '../../mdm/workspace-one/ws1-client';
import { BadRequestError, NotFoundError } from '../../shared/errors';
import type { MigrationRecord } from '../migration.types';
import type { CompleteWs1Settings, MigrationDeps, Ws1Source } from './step-context';

export const MISSING_WS1 =
  'missing WS1 settings: give --ws1-from INTEGRATION_ID (an integration with WS1 API settings), or --ws1-url, --ws1-username, --ws1-password-file and --ws1-api-key-file';

export interface ResolvedWs1 {
  client: Ws1ClientSettings;
  /** the integration the settings come from (null: entered for this migration) */
  sourceId: string | null;
  /** the same settings as configure() takes them (apply seals them for the new integration) */
  complete: CompleteWs1Settings;
  description: string;
}

/**
 * WS1 settings for plan and apply: --ws1-from, entered ones, else the source recorded by plan,
 * else the App Config integration's own (after apply). Entered secrets are never stored in the
 * migration row: apply needs them again, or --ws1-from.
 */
export async function resolveWs1(deps: MigrationDeps, source: Ws1Source | undefined, record: MigrationRecord | undefined): Promise<ResolvedWs1> {
  if (source && 'settings' in source) {
    const s = source.settings;
    const client: Ws1ClientSettings = { baseUrl: s.baseUrl, username: s.username, password: s.password, apiKey: s.apiKey, ...(s.caPem ? { ca: s.caPem } : {}) };
    return { client, sourceId: null, complete: s, description: `entered (${s.baseUrl}, user ${s.username})` };
  }
  const from =
    source?.fromIntegration ??
    record?.ws1SourceId ??
    (record?.appConfigId && (await deps.ws1.hasSettings(record.appConfigId)) ? record.appConfigId : undefined);
  if (!from) throw new BadRequestError(MISSING_WS1);
  const i = /^[A-Za-z0-9_-]{1,64}$/.test(from) ? await deps.integrations.findIntegration(from) : undefined;
  if (!i || i.deletedAt) throw new NotFoundError(`no integration ${from.slice(0, 64)} (--ws1-from)`);
  if (!(await deps.ws1.hasSettings(from))) throw new BadRequestError(`${MISSING_WS1} (integration ${from} has none)`);
  const client = await deps.ws1.clientSettings(from);
  const complete: CompleteWs1Settings = {
    baseUrl: client.baseUrl,
    username: client.username,
    password: client.password,
    apiKey: client.apiKey,
    caPem: typeof client.ca === 'string' ? client.ca : (client.ca?.toString('utf8') ?? null),
  };
  return { client, sourceId: from, complete, description: `copied from integration ${from} (${client.baseUrl}, user ${client.username})` };
}
