import { EntitySchema } from 'typeorm';
import type { StoredWs1Settings } from '../../mdm/workspace-one/ws1-integration.types';
import { ColumnTypes } from '../dialect';

/** WS1 REST API settings of one integration. Password and API key: SecretBox ciphertext only. */
export type Ws1SettingsRow = StoredWs1Settings;

/** The Trusted Endpoints Configuration Key of an App Config integration (ios, android). */
export interface AppConfigKeyRow {
  integrationId: string;
  configKey: string;
  createdAt: Date;
}

export const ws1SettingsEntity = (t: ColumnTypes) =>
  new EntitySchema<Ws1SettingsRow>({
    name: 'Ws1Settings',
    tableName: 'ws1_settings',
    columns: {
      integrationId: { name: 'integration_id', type: String, length: 32, primary: true },
      baseUrl: { name: 'base_url', type: String, length: 2048 },
      username: { type: String, length: 256 },
      passwordEnc: { name: 'password_enc', type: String, length: 2048 },
      apiKeyEnc: { name: 'api_key_enc', type: String, length: 2048 },
      caPem: { name: 'ca_pem', type: 'text', nullable: true },
      createdAt: { name: 'created_at', type: t.timestamp },
      updatedAt: { name: 'updated_at', type: t.timestamp },
    },
  });

export const appConfigKeyEntity = (t: ColumnTypes) =>
  new EntitySchema<AppConfigKeyRow>({
    name: 'AppConfigKey',
    tableName: 'app_config_keys',
    columns: {
      integrationId: { name: 'integration_id', type: String, length: 32, primary: true },
      configKey: { name: 'config_key', type: String, length: 32, unique: true },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });
