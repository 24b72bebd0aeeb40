import { APP_CONFIG_KEYS, DEVICE_UID_LOOKUP } from './app-config';
import { escapeText } from '../../shared/terminal-text';

export interface AppConfigEntry {
  key: string;
  valueType: 'String';
  value: string;
}

/** What `integration show` prints for an ios/android integration (JSON under `appConfig`). */
export interface AppConfigView {
  configurationKey: string;
  identifierValue: string;
  /** rows of WS1's Apps > Assignment > Application Configuration */
  entries: AppConfigEntry[];
  /** the same as an iOS managed app configuration (plist dict) */
  plist: string;
  /** and as JSON, for tooling */
  json: Record<string, string>;
}

export function appConfigView(configurationKey: string): AppConfigView {
  const json = { [APP_CONFIG_KEYS.configurationKey]: configurationKey, [APP_CONFIG_KEYS.identifier]: DEVICE_UID_LOOKUP };
  return {
    configurationKey,
    identifierValue: DEVICE_UID_LOOKUP,
    entries: Object.entries(json).map(([key, value]) => ({ key, valueType: 'String', value })),
    plist: plistDict(json),
    json,
  };
}

/** Text block for `integration show`. */
export function appConfigText(v: AppConfigView): string {
  const width = Math.max(...v.entries.map((e) => e.key.length), 'Configuration Key'.length) + 2;
  const row = (a: string, b: string, c: string) => `  ${escapeText(a).padEnd(width)}${escapeText(b).padEnd(12)}${escapeText(c)}`;
  return [
    'Workspace ONE > Apps > (authenticator app) > Assignment > Application Configuration:',
    row('Configuration Key', 'Value Type', 'Configuration Value'),
    ...v.entries.map((e) => row(e.key, e.valueType, e.value)),
    '',
    'As an iOS managed app configuration (plist):',
    ...v.plist
      .trimEnd()
      .split('\n')
      .map((l) => `  ${escapeText(l)}`),
    '',
    'As JSON:',
    ...JSON.stringify(v.json, null, 2)
      .split('\n')
      .map((l) => `  ${l}`),
  ].join('\n');
}

/** A plist holding one dict of strings: small enough to write directly (the plist package is ESM-only). */
function plistDict(values: Record<string, string>): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    ...Object.entries(values).flatMap(([k, v]) => [`  <key>${esc(k)}</key>`, `  <string>${esc(v)}</string>`]),
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
