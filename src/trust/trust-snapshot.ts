import type { Clock } from '../shared/clock';
import { FollowUpRunner } from '../shared/follow-up-runner';
import { LRUCache } from 'lru-cache';
import type { IntegrationDirectory, TrustPolicyStore } from './trust.ports';
import type { TrustIntegration, TrustPolicy } from './trust.types';

export const DEFAULT_POLICY: TrustPolicy = 'not-configured';

export interface TrustSnapshotOptions {
  pollMs: number;
  onError(err: unknown): void;
}

/**
 * Integrations and policies in memory, reloaded from the database every `pollMs` (both tables are
 * small), so a trust check reads no table on its hot path and a change made by the CLI or another
 * instance is in force within one poll. Test-group memberships are cached for two polls.
 */
export class TrustSnapshot {
  private integrations = new Map<string, TrustIntegration>();
  private global: TrustPolicy = DEFAULT_POLICY;
  private perApplication = new Map<string, TrustPolicy>();
  private readonly members = new LRUCache<string, { member: boolean; until: number }>({ max: 50_000 });
  private timer?: NodeJS.Timeout;
  private readonly reloads = new FollowUpRunner(() => this.load());

  constructor(
    private readonly directory: IntegrationDirectory,
    private readonly policies: TrustPolicyStore,
    private readonly clock: Clock,
    private readonly opts: TrustSnapshotOptions,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh().catch((err: unknown) => this.opts.onError(err)), this.opts.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reloads now; a reload already running may predate the caller's change, so this starts after it. */
  refresh(): Promise<void> {
    return this.reloads.run();
  }

  private async load(): Promise<void> {
    const [integrations, policies] = await Promise.all([this.directory.listIntegrations(), this.policies.listPolicies()]);
    this.integrations = new Map(integrations.map((i) => [i.id, i]));
    let global: TrustPolicy = DEFAULT_POLICY;
    const perApplication = new Map<string, TrustPolicy>();
    for (const p of policies) {
      if (p.application === null) global = p.policy;
      else perApplication.set(p.application, p.policy);
    }
    this.global = global;
    this.perApplication = perApplication;
  }

  integration(id: string): TrustIntegration | undefined {
    return this.integrations.get(id);
  }

  allIntegrations(): Iterable<TrustIntegration> {
    return this.integrations.values();
  }

  policyFor(application: string | null): TrustPolicy {
    return (application !== null && this.perApplication.get(application)) || this.global;
  }

  async isMember(group: string, user: string): Promise<boolean> {
    const key = `${group}\u0000${user}`;
    const now = this.clock.now().getTime();
    const hit = this.members.get(key);
    if (hit && hit.until > now) return hit.member;
    const member = await this.directory.isMember(group, user);
    this.members.set(key, { member, until: now + 2 * this.opts.pollMs });
    return member;
  }
}
