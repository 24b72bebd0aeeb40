import { AppConfigService } from './app-config.service';
import { appConfigText, AppConfigView } from './app-config.presenter';
import { Ws1SettingsService, Ws1SettingsView, WS1_PLATFORM_BY_TYPE } from './ws1-settings.service';
import { SyncStatusView, Ws1SyncService } from './ws1-sync.service';
import { cliText } from '../../shared/terminal-text';

/** What `integration show` adds for WS1-backed integrations (JSON keys `appConfig`, `ws1Api`). */
export interface Ws1ShowExtras {
  appConfig?: AppConfigView;
  ws1Api?: { settings: Ws1SettingsView | null; sync: SyncStatusView };
}

export interface Ws1ShowDeps {
  appConfig: AppConfigService;
  ws1Settings: Ws1SettingsService;
  ws1Sync: Ws1SyncService;
}

/** Nothing for ios-certs; the API settings and sync state for the other types; App Config for ios/android. */
export async function ws1ShowExtras(d: Ws1ShowDeps, id: string, type: string): Promise<Ws1ShowExtras> {
  if (!WS1_PLATFORM_BY_TYPE[type]) return {};
  const [appConfig, settings, sync] = await Promise.all([d.appConfig.forIntegration(id), d.ws1Settings.view(id), d.ws1Sync.status(id)]);
  return { ...(appConfig ? { appConfig } : {}), ws1Api: { settings: settings ?? null, sync } };
}

export function ws1ShowText(x: Ws1ShowExtras): string {
  const parts: string[] = [];
  if (x.ws1Api) {
    const { settings: s, sync } = x.ws1Api;
    parts.push(
      'Workspace ONE API (device sync):',
      s
        ? cliText`  URL:            ${s.baseUrl}\n  Username:       ${s.username}\n  Password:       (set)\n  API key:        (set)${s.extraCa ? '\n  Extra CA:       (set)' : ''}`
        : '  not configured: scepter integration configure ID --ws1-url URL --ws1-username USER --ws1-password-file FILE --ws1-api-key-file FILE',
      `  Platform:       ${sync.platform}`,
      `  Devices:        ${sync.deviceCount}${sync.running ? ' (sync running)' : ''}`,
      `  Last good sync: ${sync.lastSuccessAt ?? 'never'}`,
      ...(sync.lastFailureAt ? [cliText`  Last error:     ${sync.lastFailureAt} ${sync.lastFailureMessage ?? ''}`] : []),
    );
  }
  if (x.appConfig) parts.push('', appConfigText(x.appConfig));
  return parts.join('\n');
}
