import type { AdminUserService } from '../../admin/admin-users.service';
import type { ApiKeyService } from '../../admin/api-keys.service';
import type { AuditLogService } from '../../admin/audit-log.service';
import type { IntegrationDeletion } from '../../ca/integration-deletion.service';
import type { RevocationService } from '../../ca/revocation.service';
import type { IntegrationService } from '../../integrations/integration.service';
import type { IosProfileService } from '../../integrations/ios-profile.service';
import type { UserGroupService } from '../../integrations/user-groups.service';
import type { ConsoleStats } from '../../lists/console-stats.service';
import type { ListService } from '../../lists/list.service';
import type { AppConfigService } from '../../mdm/workspace-one/app-config.service';
import type { Ws1SettingsService } from '../../mdm/workspace-one/ws1-settings.service';
import type { Ws1SyncService } from '../../mdm/workspace-one/ws1-sync.service';
import type { MigrationService } from '../../migration/migration.service';
import type { Logger } from '../../shared/logger';
import type { AuthLogService } from '../../trust/auth-log.service';
import type { TrustPolicyService } from '../../trust/policy.service';

/** The services the console pages call (the same ones the admin API and the CLI call). */
export interface ConsolePageDeps {
  integrations: IntegrationService;
  groups: UserGroupService;
  profiles: IosProfileService;
  revocation: RevocationService;
  integrationDeletion: IntegrationDeletion;
  ws1Settings: Ws1SettingsService;
  ws1Sync: Ws1SyncService;
  appConfig: AppConfigService;
  lists: ListService;
  trustPolicy: TrustPolicyService;
  authLog: AuthLogService;
  audit: AuditLogService;
  apiKeys: ApiKeyService;
  adminUsers: AdminUserService;
  migration: () => MigrationService;
  stats: ConsoleStats;
  /** how often the console-stats job counts (shown on the dashboard) */
  statsIntervalSeconds: number;
  /** where the console writes migration step reports (downloadable from the migration page) */
  reportDir: string;
  logger: Logger;
}
