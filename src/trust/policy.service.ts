import type { Actor } from '../admin/audit.types';
import type { Clock } from '../shared/clock';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { DEFAULT_POLICY } from './trust-snapshot';
import type { TrustPolicyStore } from './trust.ports';
import { isTrustPolicy, TRUST_POLICIES, TrustPolicy } from './trust.types';

export interface PolicyView {
  global: TrustPolicy;
  applications: { application: string; policy: TrustPolicy; updatedAt: string }[];
}

/** Device-trust policy: global, with per-application overrides. Reads the database every time (admin path). */
export class TrustPolicyService {
  constructor(
    private readonly store: TrustPolicyStore,
    private readonly clock: Clock,
  ) {}

  async set(policy: unknown, application: unknown, actor: Actor): Promise<PolicyView> {
    if (!isTrustPolicy(policy)) throw new BadRequestError(`policy must be one of ${TRUST_POLICIES.join(', ')}`);
    const app = application === undefined || application === null || application === '' ? null : String(application);
    if (app !== null && (app.length > 200 || /[\u0000-\u001f\u007f]/.test(app))) throw new BadRequestError('application must be 1 to 200 printable characters');
    const now = this.clock.now();
    await this.store.setPolicy(app, policy, now, { actor, action: 'trust.policy.set', target: app ?? '(global)', details: { policy }, at: now });
    return this.show();
  }

  /** Back to the global policy for this application; NotFoundError when it has no override. */
  async removeOverride(application: unknown, actor: Actor): Promise<PolicyView> {
    if (typeof application !== 'string' || !application || application.length > 200)
      throw new BadRequestError('application must be 1 to 200 printable characters');
    const ok = await this.store.removePolicy(application, { actor, action: 'trust.policy.remove', target: application, at: this.clock.now() });
    if (!ok) throw new NotFoundError(`application ${application.slice(0, 200)} has no policy override`);
    return this.show();
  }

  async show(): Promise<PolicyView> {
    const rows = await this.store.listPolicies();
    return {
      global: rows.find((r) => r.application === null)?.policy ?? DEFAULT_POLICY,
      applications: rows
        .filter((r) => r.application !== null)
        .map((r) => ({ application: r.application!, policy: r.policy, updatedAt: r.updatedAt.toISOString() }))
        .sort((a, b) => a.application.localeCompare(b.application)),
    };
  }

  /**
   * For integration deletion: true when the global policy or any application's is
   * require-trusted, i.e. deleting an active integration could lock users out.
   */
  isDeviceTrustRequired = async (): Promise<boolean> => {
    return (await this.store.listPolicies()).some((p) => p.policy === 'require-trusted');
  };
}
