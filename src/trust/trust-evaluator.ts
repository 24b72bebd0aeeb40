import type { X509Certificate } from 'node:crypto';
import type { IntegrationType } from '../integrations/integration.types';
import type { InventoryLookup } from '../mdm/workspace-one/inventory-store.ports';
import type { CertificateCheck } from './certificate-check';
import { LRUCache } from 'lru-cache';
import type { TrustSnapshot } from './trust-snapshot';
import type { TrustRepository } from '../db/trust.repository';
import type { IntegrationDirectory, IssuedCertificate, RevocationCheck } from './trust.ports';
import type { TrustIntegration, TrustReason, TrustVerdict } from './trust.types';

export const IDENTIFIER_PLATFORMS = ['windows', 'macos', 'android', 'ios'] as const satisfies readonly IntegrationType[];
export type IdentifierPlatform = (typeof IDENTIFIER_PLATFORMS)[number];
const APP_CONFIG: ReadonlySet<IntegrationType> = new Set(['ios', 'android']);

export interface IdentifierEvidence {
  identifier: string;
  /** limits the search to integrations of this type (without a key: windows and macos) */
  platform?: IdentifierPlatform;
  /** App Config: the Trusted Endpoints Configuration Key the app reported */
  configurationKey?: string;
}

const DESKTOP: ReadonlySet<IntegrationType> = new Set(['windows', 'macos']);

/** Ranks identifier outcomes: the most specific explanation wins when several integrations answer. */
const IDENTIFIER_RANK: TrustReason[] = ['trusted', 'user-not-in-test-group', 'device-not-found', 'integration-disabled', 'no-integration'];

/**
 * The trust decision proper: is this device trusted for this user right now? Pure reads from
 * memory (certificate check, snapshot, revocation view) except a certificate row seen for the first
 * time and inventory lookups.
 */
export class TrustEvaluator {
  private readonly rows = new LRUCache<string, IssuedCertificate>({ max: 100_000 });
  private readonly keys = new LRUCache<string, { id: string | undefined; until: number }>({ max: 10_000 });

  constructor(
    private readonly check: CertificateCheck,
    private readonly certificates: TrustRepository,
    private readonly revocation: RevocationCheck,
    private readonly snapshot: TrustSnapshot,
    private readonly inventory: InventoryLookup,
    private readonly directory: Pick<IntegrationDirectory, 'integrationForConfigurationKey'>,
  ) {}

  async byCertificate(cert: X509Certificate | undefined, user: string, now: Date): Promise<TrustVerdict & { recognised: boolean }> {
    const no = (reason: TrustReason, extra: Partial<TrustVerdict> = {}) => ({
      trusted: false,
      reason,
      method: 'certificate' as const,
      recognised: false,
      ...extra,
    });
    if (!cert) return { ...no('no-certificate'), method: 'none' };
    const c = this.check.check(cert);
    if (!c.ours) return no('unknown-issuer');
    const t = now.getTime();
    if (t < c.notBefore) return no('not-yet-valid', { serial: c.serial });
    if (t > c.notAfter) return no('expired', { serial: c.serial });
    const row = await this.row(c.serial);
    if (!row || row.fingerprintSha256.toLowerCase() !== c.fingerprint) return no('unknown-certificate', { serial: c.serial });
    const ids = { serial: c.serial, integration: row.integrationId ?? undefined, device: row.deviceId ?? undefined, recognised: true };
    if (!row.integrationId) return { ...no('no-integration'), ...ids };
    const integration = this.snapshot.integration(row.integrationId);
    // deleting an integration revokes its certificates in the same transaction, and CRL and OCSP
    // say `revoked`: so does this check. `integration-deleted` remains for the instant when this
    // instance has seen the deletion but not yet the revocation (both are polled).
    if (await this.revocation.revocationOf(c.serial)) return { ...no('revoked'), ...ids };
    if (!integration || integration.deleted) return { ...no('integration-deleted'), ...ids };
    const scope = await this.scope(integration, user);
    return scope ? { ...no(scope), ...ids } : { trusted: true, reason: 'trusted', method: 'certificate', ...ids };
  }

  /**
   * App Config (ios, android): the configuration key names the integration, whose inventory must
   * hold the identifier. Desktop agents (windows, macos) send no key: every active integration of
   * the platform is asked, and the most specific answer wins.
   */
  async byIdentifier(e: IdentifierEvidence, user: string): Promise<TrustVerdict> {
    if (e.configurationKey !== undefined) {
      const id = await this.keyOwner(e.configurationKey);
      const i = id === undefined ? undefined : this.snapshot.integration(id);
      if (!i || !APP_CONFIG.has(i.type) || (e.platform && i.type !== e.platform))
        return { trusted: false, reason: 'configuration-key-mismatch', method: 'identifier' };
      return this.inIntegration(i, e.identifier, user);
    }
    if (e.platform && APP_CONFIG.has(e.platform)) return { trusted: false, reason: 'configuration-key-mismatch', method: 'identifier' };
    let best: TrustVerdict = { trusted: false, reason: 'no-integration', method: 'identifier' };
    for (const i of this.snapshot.allIntegrations()) {
      if (i.deleted || !DESKTOP.has(i.type) || (e.platform && i.type !== e.platform)) continue;
      const v = await this.inIntegration(i, e.identifier, user);
      if (v.trusted) return v;
      if (IDENTIFIER_RANK.indexOf(v.reason) < IDENTIFIER_RANK.indexOf(best.reason)) best = v;
    }
    return best;
  }

  private async inIntegration(i: TrustIntegration, identifier: string, user: string): Promise<TrustVerdict> {
    const base = { trusted: false, method: 'identifier' as const, integration: i.id };
    if (i.deleted) return { ...base, reason: 'integration-deleted' };
    if (i.status === 'disabled') return { ...base, reason: 'integration-disabled' };
    const device = await this.inventory.findByIdentifier(i.id, identifier);
    if (!device) return { ...base, reason: 'device-not-found' };
    const scope = await this.scope(i, user);
    return scope ? { ...base, reason: scope, device: device.udid } : { ...base, trusted: true, reason: 'trusted', device: device.udid };
  }

  /** Configuration keys never change owner once made, so the answer is cached (misses too, briefly). */
  private async keyOwner(key: string): Promise<string | undefined> {
    const k = key.trim().toUpperCase();
    const now = Date.now();
    const hit = this.keys.get(k);
    if (hit && (hit.id !== undefined || hit.until > now)) return hit.id;
    const id = await this.directory.integrationForConfigurationKey(k);
    this.keys.set(k, { id, until: now + 1000 });
    return id;
  }

  /** Why the integration's status does not cover this user; undefined when it does. */
  private async scope(i: TrustIntegration, user: string): Promise<TrustReason | undefined> {
    if (i.status === 'all') return undefined;
    if (i.status === 'test-group' && i.groupName && (await this.snapshot.isMember(i.groupName, user))) return undefined;
    return i.status === 'test-group' ? 'user-not-in-test-group' : 'integration-disabled';
  }

  private async row(serial: string): Promise<IssuedCertificate | undefined> {
    const hit = this.rows.get(serial);
    if (hit) return hit;
    const row = await this.certificates.findBySerial(serial);
    // the fields read here never change once issued; misses are not kept (the row may be mid-commit)
    if (row) this.rows.set(serial, row);
    return row;
  }
}
