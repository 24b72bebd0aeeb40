import type { X509Certificate } from 'node:crypto';
import type { Clock } from '../shared/clock';
import { BadRequestError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';
import type { AuthLogWriter } from './auth-log-writer';
import type { LastSeenTracker } from './last-seen-tracker';
import { IDENTIFIER_PLATFORMS, IdentifierEvidence, IdentifierPlatform, TrustEvaluator } from './trust-evaluator';
import type { TrustSnapshot } from './trust-snapshot';
import type { TrustAnswer, TrustVerdict } from './trust.types';

export interface TrustCheckRequest {
  user: unknown;
  application?: unknown;
  /** the client certificate from the handshake or a trusted proxy's header */
  certificate?: X509Certificate;
  /** a trusted proxy sent a header we could not read as a certificate */
  certificateMalformed?: boolean;
  /** identifier-based integrations (JSON body) */
  identifier?: unknown;
  platform?: unknown;
  configurationKey?: unknown;
  sourceAddress: string;
  note?: string;
}

const NOT_CHECKED: TrustVerdict = { trusted: false, reason: 'not-checked', method: 'none' };

/**
 * The login-time check: applies the policy for the application to the trust verdict, records the
 * check in the authentication log and the certificate's last sighting, both batched.
 */
export class DeviceTrustService {
  constructor(
    private readonly evaluator: TrustEvaluator,
    private readonly snapshot: TrustSnapshot,
    private readonly authLog: AuthLogWriter,
    private readonly lastSeen: LastSeenTracker,
    private readonly clock: Clock,
  ) {}

  async check(r: TrustCheckRequest): Promise<TrustAnswer> {
    const user = text(r.user, 'user', 256, true)!;
    const application = text(r.application, 'application', 200, false) ?? null;
    const identifier = identifierEvidence(r);
    const now = this.clock.now();
    const policy = this.snapshot.policyFor(application);
    let verdict = NOT_CHECKED;
    if (policy !== 'not-configured') {
      if (identifier) verdict = await this.evaluator.byIdentifier(identifier, user);
      else if (r.certificateMalformed) verdict = { trusted: false, reason: 'malformed-certificate', method: 'certificate' };
      else {
        const v = await this.evaluator.byCertificate(r.certificate, user, now);
        if (v.recognised && v.serial) this.lastSeen.seen(v.serial, now);
        const { recognised: _recognised, ...rest } = v;
        verdict = rest;
      }
    }
    const decision = policy === 'require-trusted' && !verdict.trusted ? 'deny' : 'allow';
    this.authLog.append({
      at: now,
      user,
      application,
      decision,
      trusted: verdict.trusted,
      reason: verdict.reason,
      policy,
      method: verdict.method,
      integration: verdict.integration ?? null,
      device: verdict.device ?? null,
      serial: verdict.serial ?? null,
      sourceAddress: r.sourceAddress,
      note: r.note ?? null,
    });
    return { decision, ...verdict, policy, user, application };
  }
}

function text(v: unknown, name: string, max: number, required: boolean): string | undefined {
  if (v === undefined || v === null || v === '') {
    if (required) throw new BadRequestError(`${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length > max) throw new BadRequestError(`${name} must be a string of at most ${max} characters`);
  if (hasUnprintable(v)) throw new BadRequestError(`${name} contains control or invisible formatting characters`);
  return v;
}

function identifierEvidence(r: TrustCheckRequest): IdentifierEvidence | undefined {
  const identifier = text(r.identifier, 'identifier', 256, false);
  if (!identifier) {
    if (r.platform !== undefined || r.configurationKey !== undefined) throw new BadRequestError('platform and configurationKey go with identifier');
    return undefined;
  }
  const platform = text(r.platform, 'platform', 16, false);
  if (platform !== undefined && !(IDENTIFIER_PLATFORMS as readonly string[]).includes(platform))
    throw new BadRequestError(`platform must be one of ${IDENTIFIER_PLATFORMS.join(', ')}`);
  return { identifier, platform: platform as IdentifierPlatform | undefined, configurationKey: text(r.configurationKey, 'configurationKey', 128, false) };
}
