import { Actor } from '../admin/audit.types';
import { hashSecret, randomId, randomSecret, secretMatches } from '../admin/secret-token';
import { Clock } from '../shared/clock';
import { BadRequestError, ConflictError, NotFoundError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';
import type { IntegrationRepository } from '../db/integration.repository';
import { InTransaction } from './integration.ports';
import { defaultSubjectTemplate, Integration, IOS_CERTS_EOL_NOTICE, isIntegrationStatus, isIntegrationType } from './integration.types';
import { integrationView, IntegrationView } from './integration.presenter';
import { SubjectTemplate } from './subject-template';
import { parseExpireUnused, parseGrace, RotationOptions } from './challenge-rotation';

export interface CreateIntegration {
  type: unknown;
  name: unknown;
  allowLegacy?: boolean;
}

/** Raised when an ios-certs integration is created without allowLegacy; the message is the EOL notice. */
export class LegacyIntegrationRefused extends BadRequestError {
  constructor() {
    super(IOS_CERTS_EOL_NOTICE);
  }
}

/** Integrations: lifecycle, status, and the ios-certs challenge credentials. */
export class IntegrationService {
  constructor(
    private readonly store: IntegrationRepository,
    private readonly clock: Clock,
    private readonly publicUrl: string,
  ) {}

  async create(input: CreateIntegration, actor: Actor): Promise<IntegrationView> {
    if (!isIntegrationType(input.type)) throw new BadRequestError(`type must be one of windows, macos, android, ios, ios-certs`);
    const name = validName(input.name);
    if (input.type === 'ios-certs' && !input.allowLegacy) throw new LegacyIntegrationRefused();
    const now = this.clock.now();
    const id = randomId('DI');
    const row: Integration = {
      id,
      name,
      type: input.type,
      status: 'disabled',
      groupName: null,
      subjectTemplate: null,
      challengeUsername: null,
      challengePasswordHash: null,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
    };
    let password: string | undefined;
    if (input.type === 'ios-certs') {
      row.subjectTemplate = defaultSubjectTemplate(id);
      row.challengeUsername = `ndes-${randomId('', 12).toLowerCase()}`;
      password = randomSecret(24);
      row.challengePasswordHash = hashSecret(row.challengeUsername, password);
    }
    await this.store.insertIntegration(row, {
      actor,
      action: 'integration.create',
      target: id,
      details: { type: row.type, name, legacy: row.type === 'ios-certs' },
      at: now,
    });
    return integrationView(row, this.publicUrl, password);
  }

  async list(): Promise<IntegrationView[]> {
    return (await this.store.listIntegrations()).filter((i) => !i.deletedAt).map((i) => integrationView(i, this.publicUrl));
  }

  async show(id: string): Promise<IntegrationView> {
    return integrationView(await this.get(id), this.publicUrl);
  }

  /** A live (not deleted) integration, or NotFoundError. */
  async get(id: string): Promise<Integration> {
    const i = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.store.findIntegration(id) : undefined;
    if (!i || i.deletedAt) throw new NotFoundError(`no integration ${id.slice(0, 64)}`);
    return i;
  }

  async setStatus(id: string, status: unknown, group: unknown, actor: Actor): Promise<IntegrationView> {
    if (!isIntegrationStatus(status)) throw new BadRequestError('status must be one of disabled, test-group, all');
    if (group !== undefined && group !== null && typeof group !== 'string') throw new BadRequestError('group must be a group name (a string)');
    const groupName = group || null;
    if (status === 'test-group' && !groupName) throw new BadRequestError('status test-group needs a group (--group NAME)');
    if (status !== 'test-group' && groupName) throw new BadRequestError('a group goes only with status test-group');
    await this.get(id);
    const now = this.clock.now();
    await this.store.setStatus(id, { status: status, groupName }, now, {
      actor,
      action: 'integration.status',
      target: id,
      details: { status, group: groupName },
      at: now,
    });
    return this.show(id);
  }

  /**
   * New challenge password (the username stays, so WS1 only needs the new password). The old one
   * keeps working for `grace` (default 24h; `0`: not at all) so enrollments do not fail while WS1
   * is updated; `expireUnusedChallenges` expires every challenge already minted and not yet used.
   */
  async rotateChallengeCredentials(
    id: string,
    actor: Actor,
    opts: RotationOptions = {},
  ): Promise<IntegrationView & { previousPasswordValidUntil: string | null; expiredChallenges: number }> {
    const graceSeconds = parseGrace(opts.grace);
    const expireUnusedChallenges = parseExpireUnused(opts.expireUnusedChallenges);
    const i = await this.requireIosCerts(id);
    const password = randomSecret(24);
    const now = this.clock.now();
    const previousUntil = graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000) : null;
    const expiredChallenges = await this.store.rotateChallengePassword(
      id,
      { hash: hashSecret(i.challengeUsername!, password), previousUntil, expireUnusedChallenges },
      now,
      (expired) => ({
        actor,
        action: 'integration.rotate-challenge-credentials',
        target: id,
        details: { graceSeconds, previousPasswordValidUntil: previousUntil?.toISOString() ?? null, expireUnusedChallenges, expiredChallenges: expired },
        at: now,
      }),
    );
    return {
      ...integrationView(await this.get(id), this.publicUrl, password),
      previousPasswordValidUntil: previousUntil?.toISOString() ?? null,
      expiredChallenges,
    };
  }

  async setSubjectTemplate(id: string, template: string, actor: Actor): Promise<IntegrationView> {
    await this.requireIosCerts(id);
    const parsed = SubjectTemplate.parse(template.trim());
    const now = this.clock.now();
    await this.store.setSubjectTemplate(id, parsed.text, now, {
      actor,
      action: 'integration.subject-template',
      target: id,
      details: { subjectName: parsed.text },
      at: now,
    });
    return this.show(id);
  }

  async rename(id: string, name: unknown, actor: Actor): Promise<IntegrationView> {
    const n = validName(name);
    const before = await this.get(id);
    const now = this.clock.now();
    await this.store.rename(id, n, now, { actor, action: 'integration.rename', target: id, details: { from: before.name, to: n }, at: now });
    return this.show(id);
  }

  /**
   * Soft delete: its SCEP and challenge URLs answer 404 from then on. Revoking its certificates is
   * the caller's job, atomically if it passes `inTransaction`, e.g.
   * `(tx) => revocation.revokeAllForIntegration(tx, id, reason, now).then((revoked) => ({ revoked }))`.
   */
  async markDeleted(id: string, actor: Actor, inTransaction?: InTransaction): Promise<void> {
    const now = this.clock.now();
    const ok =
      /^[A-Za-z0-9_-]{1,64}$/.test(id) && (await this.store.markDeleted(id, now, { actor, action: 'integration.delete', target: id, at: now }, inTransaction));
    if (!ok) throw new NotFoundError(`no integration ${id.slice(0, 64)}`);
  }

  /**
   * The integration whose challenge credentials these are (deleted ones included, so the caller
   * can answer 404 to a client that knows them), or undefined. Constant time in the password.
   */
  async authenticateChallengeClient(username: string, password: string): Promise<Integration | undefined> {
    const i = username.length <= 64 ? await this.store.findByChallengeUsername(username) : undefined;
    // both hashes are always compared, so the answer time does not tell which one matched
    const current = secretMatches(username, password, i?.challengePasswordHash);
    const previous = secretMatches(username, password, i?.previousChallengePasswordHash ?? undefined);
    const inGrace = Boolean(i?.previousChallengePasswordUntil && i.previousChallengePasswordUntil.getTime() > this.clock.now().getTime());
    return current || (previous && inGrace) ? i : undefined;
  }

  /** The ios-certs integration behind `/scep/<id>`, whatever its status; undefined if unknown or deleted. */
  async findEnrollmentTarget(id: string): Promise<(Integration & { subjectTemplate: string }) | undefined> {
    const i = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await this.store.findIntegration(id) : undefined;
    if (!i || i.deletedAt || i.type !== 'ios-certs' || !i.subjectTemplate) return undefined;
    return i as Integration & { subjectTemplate: string };
  }

  /** Is the integration active for this user (status all, or test-group with the user a member)? */
  async isActiveFor(id: string, username: string): Promise<boolean> {
    const i = await this.get(id);
    if (i.status === 'all') return true;
    if (i.status === 'test-group' && i.groupName) return this.store.isMember(i.groupName, username);
    return false;
  }

  private async requireIosCerts(id: string): Promise<Integration> {
    const i = await this.get(id);
    if (i.type !== 'ios-certs' || !i.challengeUsername)
      throw new ConflictError(`integration ${id} is of type ${i.type}: only ios-certs integrations have challenge credentials and a certificate template`);
    return i;
  }
}

function validName(name: unknown): string {
  const s = typeof name === 'string' ? name.trim() : '';
  if (!s || s.length > 200) throw new BadRequestError('name must be 1 to 200 characters');
  if (hasUnprintable(s)) throw new BadRequestError('name contains control or invisible formatting characters');
  return s;
}
