import { AdminRepository } from '../db/admin.repository';
import { AdminUserRepository } from '../db/admin-user.repository';
import { loadOrCreateSecretKey, SecretBox } from '../shared/secret-box';
import { AdminUserService } from './admin-users.service';
import { ApiKeyService } from './api-keys.service';
import { AuditLogService } from './audit-log.service';
import { ConsoleSessions } from './console-sessions.service';
import type { BuildContext } from '../shared/build-context';

/**
 * API keys, the audit log, the console's users and sessions, and the SecretBox for secrets at rest
 * (WS1 secrets, console TOTP secrets): its key is read when first needed, not by every CLI command.
 */
export function buildAdminModule({ config, db, clock }: BuildContext) {
  const adminStore = new AdminRepository(db);
  const users = new AdminUserRepository(db);
  let box: SecretBox | undefined;
  const secretBox = () => (box ??= new SecretBox(loadOrCreateSecretKey(config.secretKey, config.certsDir)));
  return {
    apiKeys: new ApiKeyService(adminStore, clock),
    audit: new AuditLogService(adminStore, clock),
    /** the people who sign in to the web console */
    adminUsers: new AdminUserService(users, secretBox, clock),
    consoleSessions: new ConsoleSessions(users, clock),
    secretBox,
  };
}

export type AdminModule = ReturnType<typeof buildAdminModule>;
