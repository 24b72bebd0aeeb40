import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Permission } from '../../admin/roles';
import { revokeResultJson } from '../../ca/revocation.presenter';
import type { RevocationService } from '../../ca/revocation.service';
import type { IntegrationDeletion } from '../../ca/integration-deletion.service';
import { BadRequestError } from '../../shared/errors';
import { readJsonObject } from '../read-body';
import { adminState, allow } from './admin-auth';

/** Listing is reading an integration; one certificate or one device's are revoked singly, a deletion revokes in bulk. */
export const CERTIFICATE_PERMISSIONS: { read: Permission; revoke: Permission; delete: Permission } = {
  read: 'integrations:read',
  revoke: 'certificates:revoke',
  delete: 'integrations:delete',
};

/**
 * Certificate routes of the admin API, registered on a router that already authenticates
 * (`/admin/v1` with adminAuth):
 *   POST /certificates/:serial/revoke                       {"reason": "keyCompromise"} (body optional)
 *   POST /integrations/:id/devices/:udid/revoke             {"reason": ...} (body optional)
 *   GET  /integrations/:id/deletion                           what deleting it would revoke, and whether it needs force
 *   DELETE /integrations/:id?force=true                       delete it, revoking its certificates (409 when it needs force)
 */
export function registerCertificateRoutes(r: Router, d: { revocation: RevocationService; integrationDeletion: IntegrationDeletion }): Router {
  r.post('/certificates/:serial/revoke', allow(CERTIFICATE_PERMISSIONS.revoke), async (ctx) => {
    const { reason } = await reasonBody(ctx);
    ctx.body = revokeResultJson(await d.revocation.revoke(ctx.params.serial!, { reason, actor: adminState(ctx).actor }));
  });

  r.post('/integrations/:id/devices/:udid/revoke', allow(CERTIFICATE_PERMISSIONS.revoke), async (ctx) => {
    const { reason } = await reasonBody(ctx);
    const res = await d.revocation.revokeDevice(ctx.params.id!, ctx.params.udid!, { reason, actor: adminState(ctx).actor });
    ctx.body = { integrationId: ctx.params.id, deviceId: ctx.params.udid, ...res };
  });

  r.get('/integrations/:id/deletion', allow(CERTIFICATE_PERMISSIONS.read), async (ctx) => {
    ctx.body = await d.integrationDeletion.preview(ctx.params.id!);
  });
  r.delete('/integrations/:id', allow(CERTIFICATE_PERMISSIONS.delete), async (ctx) => {
    ctx.body = await d.integrationDeletion.delete(ctx.params.id!, { actor: adminState(ctx).actor, force: one(ctx.query.force) === 'true' });
  });
  return r;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function reasonBody(ctx: Context): Promise<{ reason?: string }> {
  const reason = (await readJsonObject(ctx, 4096, { optional: true, fields: ['reason'] })).reason;
  if (reason !== undefined && typeof reason !== 'string') throw new BadRequestError('reason must be a string');
  return { reason };
}
