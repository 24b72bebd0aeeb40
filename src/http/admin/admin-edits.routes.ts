import type Router from '@koa/router';
import type { IntegrationService } from '../../integrations/integration.service';
import type { UserGroupService } from '../../integrations/user-groups.service';
import type { TrustPolicyService } from '../../trust/policy.service';
import { BadRequestError } from '../../shared/errors';
import { readJsonObject } from '../read-body';
import { adminState, allow } from './admin-auth';

/**
 * Undoing what other admin routes set up (on the authenticated admin router), each audited:
 *   DELETE /groups/:name/members/:user           groups:write
 *   DELETE /groups/:name                         groups:write (409 while an integration's test-group status names it)
 *   PUT    /integrations/:id/name  {"name": ...}  integrations:write
 *   DELETE /trust/policy/applications/:application  integrations:write (as setting the policy)
 */
export function registerAdminEditRoutes(r: Router, d: { groups: UserGroupService; integrations: IntegrationService; trustPolicy: TrustPolicyService }): Router {
  r.delete('/groups/:name/members/:user', allow('groups:write'), async (ctx) => {
    ctx.body = await d.groups.removeMember(ctx.params.name!, ctx.params.user!, adminState(ctx).actor);
  });
  r.delete('/groups/:name', allow('groups:write'), async (ctx) => {
    ctx.body = await d.groups.delete(ctx.params.name!, adminState(ctx).actor);
  });
  r.put('/integrations/:id/name', allow('integrations:write'), async (ctx) => {
    const b = await readJsonObject(ctx, 16 * 1024, { fields: ['name'] });
    if (typeof b.name !== 'string') throw new BadRequestError('name (string) is required');
    ctx.body = await d.integrations.rename(ctx.params.id!, b.name, adminState(ctx).actor);
  });
  r.delete('/trust/policy/applications/:application', allow('integrations:write'), async (ctx) => {
    ctx.body = await d.trustPolicy.removeOverride(ctx.params.application!, adminState(ctx).actor);
  });
  return r;
}
