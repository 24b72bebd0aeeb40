import type { Actor } from '../admin/audit.types';
import type { Clock } from '../shared/clock';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';
import { DEFAULT_POLICY } from './trust-snapshot';
import type { TrustPolicyStore } from './trust.ports';
import { isTrustPolicy, TRUST_POLICIES, TrustPolicy } from './trust.types';

const MAX_APPLICATION = 200;

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
    const app = applicationName(application);
    const now = this.clock.now();
    await this.store.setPolicy(app, policy, now, { actor, action: 'trust.policy.set', target: app ?? '(global)', details: { policy }, at: now });
    return this.show();
  }

  /**
   * Back to the global policy for this application; NotFoundError when it has no override. Any
   * stored name is matched as given (not held to applicationName), so every override can be removed.
   */
  async removeOverride(application: unknown, actor: Actor): Promise<PolicyView> {
    if (typeof application !== 'string' || !application || application.length > MAX_APPLICATION)
      throw new BadRequestError(`application must be a name of 1 to ${MAX_APPLICATION} characters`);
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

/**
 * The application an override is for: absent or null is the global policy. A name is taken exactly:
 * the device-trust check looks the override up by the application it is sent, so a name with
 * surrounding spaces is refused rather than trimmed into one that never matches.
 */
function applicationName(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const global = 'leave application out (or null) for the global policy';
  if (typeof v !== 'string') throw new BadRequestError(`application must be a string; ${global}`);
  if (!v.trim()) throw new BadRequestError(`application is empty or blank; ${global}`);
  if (v.length > MAX_APPLICATION) throw new BadRequestError(`application is longer than ${MAX_APPLICATION} characters`);
  if (v !== v.trim())
    throw new BadRequestError('application starts or ends with whitespace (refused, not trimmed: give the exact name the device-trust check sends)');
  if (hasUnprintable(v)) throw new BadRequestError('application contains control or invisible formatting characters');
  return v;
}
