import type Router from '@koa/router';
import type { Context } from 'koa';
import type { MigrationService } from '../../migration/migration.service';
import type { MigrationStep } from '../../migration/migration.types';
import type { PreparedStep, Ws1Source } from '../../migration/steps/step-context';
import type { Actor } from '../../admin/audit.types';
import { BadRequestError } from '../../shared/errors';
import { readJsonObject } from '../read-body';
import { adminState, allow } from './admin-auth';

type Body = Record<string, unknown>;
type Prepare = (svc: MigrationService, legacyId: string, b: Body, actor: Actor) => Promise<PreparedStep>;

/** The steps of `scepter migrate <step>`, on the same service: the JSON fields each takes (dryRun for all), and how. */
const STEPS: Record<MigrationStep, { fields: string[]; prepare: Prepare }> = {
  plan: { fields: ['ws1'], prepare: (svc, id, b, actor) => svc.plan(id, { actor, ws1: ws1Source(b.ws1), persist: b.dryRun !== true }) },
  apply: {
    fields: ['ws1', 'name'],
    prepare: (svc, id, b, actor) => svc.apply(id, { actor, ws1: ws1Source(b.ws1), name: optional(b, 'name', 'string') as string | undefined }),
  },
  verify: { fields: [], prepare: (svc, id, _b, actor) => svc.verify(id, { actor }) },
  cutover: {
    fields: ['minReady', 'force'],
    prepare: (svc, id, b, actor) => svc.cutover(id, { actor, minReady: optional(b, 'minReady', 'number') as number | undefined, force: b.force === true }),
  },
  finalize: {
    fields: ['graceDays', 'force'],
    prepare: (svc, id, b, actor) => svc.finalize(id, { actor, graceDays: optional(b, 'graceDays', 'number') as number | undefined, force: b.force === true }),
  },
  rollback: { fields: [], prepare: (svc, id, _b, actor) => svc.rollback(id, { actor }) },
};

/**
 * The legacy ios-certs -> App Config migration under `/admin/v1` (authenticated there):
 *   GET  /migrations                           every legacy integration and its migration state
 *   POST /migrations/:legacyId/<step>          plan | apply | verify | cutover | finalize | rollback
 * with an optional JSON body: {"dryRun": true} shows what the step would do and changes nothing;
 * plan and apply take {"ws1": {"fromIntegration": id} | {"url", "username", "password", "apiKey", "caPem"?}};
 * apply {"name"}; cutover {"minReady": percent, "force"}; finalize {"graceDays", "force"}.
 * Reading needs integrations:read; every step migrations:run (not granted to application managers:
 * cutover moves users and may be forced, finalize revokes the legacy certificates in bulk as
 * deleting an integration does, and a dry run shows the same force options).
 */
export function registerMigrationRoutes(r: Router, d: { migration: () => MigrationService }): Router {
  r.get('/migrations', allow('integrations:read'), async (ctx) => {
    ctx.body = await d.migration().status();
  });
  for (const [step, { fields, prepare }] of Object.entries(STEPS) as [MigrationStep, (typeof STEPS)[MigrationStep]][]) {
    r.post(`/migrations/:legacyId/${step}`, allow('migrations:run'), async (ctx: Context) => {
      const b = await readJsonObject(ctx, 64 * 1024, { optional: true, fields: ['dryRun', ...fields] });
      if (b.dryRun !== undefined && typeof b.dryRun !== 'boolean') throw new BadRequestError('dryRun must be true or false');
      const p = await prepare(d.migration(), ctx.params.legacyId, b, adminState(ctx).actor);
      // as the CLI: a dry run of a step that would run answers its preview; plan's dry run computes readiness
      ctx.body = p.decision.kind === 'run' && b.dryRun === true && step !== 'plan' ? p.preview : await p.execute(undefined);
    });
  }
  return r;
}

function optional(b: Body, key: string, type: 'string' | 'number'): unknown {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) throw new BadRequestError(`${key} must be a ${type}`);
  return v;
}

function ws1Source(v: unknown): Ws1Source | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BadRequestError('ws1 must be an object');
  const o = v as Body;
  if (o.fromIntegration !== undefined) {
    if (typeof o.fromIntegration !== 'string' || Object.keys(o).length !== 1)
      throw new BadRequestError('ws1 takes either fromIntegration (alone) or url, username, password and apiKey');
    return { fromIntegration: o.fromIntegration };
  }
  const s = (k: string) => {
    if (typeof o[k] !== 'string' || !o[k]) throw new BadRequestError(`ws1.${k} (string) is required unless ws1.fromIntegration is given`);
    return o[k];
  };
  const caPem = o.caPem === undefined || o.caPem === null ? null : typeof o.caPem === 'string' ? o.caPem : undefined;
  if (caPem === undefined) throw new BadRequestError('ws1.caPem must be a PEM string');
  return { settings: { baseUrl: s('url'), username: s('username'), password: s('password'), apiKey: s('apiKey'), caPem } };
}
