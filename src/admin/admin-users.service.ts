import { Clock } from '../shared/clock';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';
import type { SecretBox } from '../shared/secret-box';
import type { AdminUserRepository } from '../db/admin-user.repository';
import { AdminUserView, StoredAdminUser } from './admin-user.types';
import { Actor } from './audit.types';
import { hashPassword, passwordMatches } from './password-hash';
import { Role, requirePermission } from './roles';
import { randomId, randomSecret } from './secret-token';
import { isTotpSecret, newTotp, TotpEnrollment, totpStep } from './totp';

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;

/** Roles that must sign in with a second factor. */
export function totpRequired(role: Role): boolean {
  return role === 'owner' || role === 'administrator';
}

export interface NewAdminUser {
  name: unknown;
  email: unknown;
  role: Role;
  /** chosen password; a random one is made (and returned once) when absent */
  password?: string;
  /** enrol a second factor although the role does not need one */
  totp?: boolean;
  /**
   * make no secret now: the person enrols their own authenticator at the first sign-in (the
   * console's way, so the secret is never seen by the person creating the account)
   */
  totpAtFirstSignIn?: boolean;
}

export interface CreatedAdminUser {
  user: AdminUserView;
  /** only when it was generated: shown once */
  password?: string;
  /** shown once: to add to an authenticator app */
  totp?: TotpEnrollment;
}

/** Why a sign-in failed, for the log only: the person is told nothing more than "not signed in". */
export type SignInRefusal = 'unknown-or-wrong-password' | 'disabled' | 'totp-missing' | 'totp-wrong' | 'totp-reused';

/** The people who sign in to the web console: accounts, passwords, the second factor. */
export class AdminUserService {
  constructor(
    private readonly store: AdminUserRepository,
    private readonly secretBox: () => SecretBox,
    private readonly clock: Clock,
  ) {}

  async create(input: NewAdminUser, actor: Actor, actorRole: Role | 'cli'): Promise<CreatedAdminUser> {
    if (actorRole !== 'cli') requireOwner(actorRole);
    const name = validName(input.name);
    const email = validEmail(input.email);
    const generated = input.password === undefined ? randomSecret(15) : undefined;
    const password = input.password ?? generated!;
    checkPassword(password);
    if (await this.store.findUserByEmail(email)) throw new ConflictError(`an admin user with email ${email} exists`);
    const now = this.clock.now();
    const id = randomId('AU', 14);
    const totp = (totpRequired(input.role) || input.totp) && !input.totpAtFirstSignIn ? newTotp(email) : undefined;
    const row: StoredAdminUser = {
      id,
      name,
      email,
      role: input.role,
      passwordHash: await hashPassword(password),
      totpSecret: totp ? this.secretBox().encrypt(totp.secret, totpContext(id)) : null,
      totpLastStep: null,
      createdBy: actor.who,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: null,
      disabledAt: null,
    };
    await this.store.insertUser(row, {
      actor,
      action: 'admin-user.create',
      target: id,
      details: { name, email, role: input.role, totp: Boolean(totp) },
      at: now,
    });
    return { user: view(row), ...(generated ? { password: generated } : {}), ...(totp ? { totp } : {}) };
  }

  /**
   * Password (and TOTP code, when the account has a factor) check. Answers the user or why not;
   * the password is always hashed, also for unknown emails, so timing does not tell them apart.
   */
  async verifySignIn(emailInput: string, password: string, code: string | undefined): Promise<StoredAdminUser | SignInRefusal> {
    const email = typeof emailInput === 'string' ? emailInput.trim().toLowerCase() : '';
    const u = email.length <= 254 ? await this.store.findUserByEmail(email) : undefined;
    const ok = await passwordMatches(password.slice(0, MAX_PASSWORD_LENGTH), u?.passwordHash);
    if (!u || !ok) return 'unknown-or-wrong-password';
    if (u.disabledAt) return 'disabled';
    const now = this.clock.now();
    if (u.totpSecret) {
      if (!code) return 'totp-missing';
      const step = totpStep(this.secretBox().decrypt(u.totpSecret, totpContext(u.id)), code.trim(), now);
      if (step === undefined) return 'totp-wrong';
      if (!(await this.store.acceptTotpStep(u.id, step, now))) return 'totp-reused';
    } else {
      // a role that needs a factor and has none (new, promoted, or reset) signs in to enrol one
      // before anything else (the console's session middleware allows nothing but enrolment)
      await this.store.updateUser(u.id, { lastSignInAt: now }, undefined);
    }
    return u;
  }

  /** True while the person must enrol an authenticator before using the console. */
  static mustEnrolTotp(u: Pick<StoredAdminUser, 'role' | 'totpSecret'>): boolean {
    return totpRequired(u.role) && u.totpSecret === null;
  }

  /**
   * First enrolment (after creation in the console, a promotion or a reset): the signed-in person
   * has no authenticator yet; a code from the proposed secret saves it. A person who has one
   * replaces it with `changeTotp`, which needs the current password.
   */
  async enrolTotp(userId: string, secret: string, code: string, actor: Actor): Promise<void> {
    const u = await this.get(userId);
    if (u.totpSecret !== null) throw new ConflictError('an authenticator is already enrolled; replace it under Account');
    await this.saveTotp(u.id, secret, code, '', { actor, action: 'admin-user.totp-enrol' });
  }

  /** An owner gives another person a role; the last enabled owner keeps theirs. */
  async changeRole(id: string, role: Role, actor: Actor, actorRole: Role | 'cli'): Promise<AdminUserView> {
    if (actorRole !== 'cli') requireOwner(actorRole);
    const u = await this.get(id);
    if (u.role === role) return view(u);
    const now = this.clock.now();
    await this.store.updateUser(
      u.id,
      { role, updatedAt: now },
      { actor, action: 'admin-user.role', target: u.id, details: { from: u.role, to: role }, at: now },
      u.role === 'owner',
    );
    return view(await this.get(u.id));
  }

  /**
   * An owner resets another person's password: the owner's choice, or a generated one returned
   * once. The person is signed out everywhere.
   */
  async resetPassword(id: string, password: string | undefined, actor: Actor, actorRole: Role | 'cli', actorUserId?: string): Promise<{ password?: string }> {
    if (actorRole !== 'cli') requireOwner(actorRole);
    const u = await this.get(id);
    if (actorUserId === u.id) throw new ConflictError('change your own password under Account');
    const generated = password === undefined ? randomSecret(15) : undefined;
    const next = password ?? generated!;
    checkPassword(next);
    const now = this.clock.now();
    await this.store.updateUser(
      u.id,
      { passwordHash: await hashPassword(next), updatedAt: now },
      { actor, action: 'admin-user.password-reset', target: u.id, at: now },
    );
    await this.store.deleteSessionsOf(u.id);
    return generated ? { password: generated } : {};
  }

  /**
   * An owner removes another person's authenticator (lost phone): the person is signed out
   * everywhere, and an owner or administrator enrols a new one at the next sign-in.
   */
  async resetTotp(id: string, actor: Actor, actorRole: Role | 'cli', actorUserId?: string): Promise<AdminUserView> {
    if (actorRole !== 'cli') requireOwner(actorRole);
    const u = await this.get(id);
    if (actorUserId === u.id) throw new ConflictError('replace your own authenticator under Account');
    const now = this.clock.now();
    await this.store.updateUser(
      u.id,
      { totpSecret: null, totpLastStep: null, updatedAt: now },
      { actor, action: 'admin-user.totp-reset', target: u.id, at: now },
    );
    await this.store.deleteSessionsOf(u.id);
    return view(await this.get(u.id));
  }

  /** An owner deletes another person's account (and sessions); the last enabled owner stays. */
  async delete(id: string, actor: Actor, actorRole: Role | 'cli', actorUserId?: string): Promise<AdminUserView> {
    if (actorRole !== 'cli') requireOwner(actorRole);
    const u = await this.get(id);
    if (actorUserId === u.id) throw new ConflictError('you cannot delete your own account');
    const now = this.clock.now();
    await this.store.deleteUser(u.id, { actor, action: 'admin-user.delete', target: u.id, details: { email: u.email, role: u.role }, at: now });
    return view(u);
  }

  async get(id: string): Promise<StoredAdminUser> {
    const u = /^AU[A-Z2-9]{14}$/.test(id) ? await this.store.findUser(id) : undefined;
    if (!u) throw new NotFoundError(`no admin user ${id.slice(0, 40)}`);
    return u;
  }

  async list(): Promise<AdminUserView[]> {
    return (await this.store.listUsers()).map(view);
  }

  count(): Promise<number> {
    return this.store.countUsers();
  }

  /** Self-service: needs the current password; ends the person's other sessions. */
  async changePassword(userId: string, current: string, next: string, actor: Actor, keepSession: string): Promise<void> {
    const u = await this.get(userId);
    if (!(await passwordMatches(current.slice(0, MAX_PASSWORD_LENGTH), u.passwordHash))) throw new BadRequestError('the current password is wrong');
    checkPassword(next);
    const now = this.clock.now();
    await this.store.updateUser(
      u.id,
      { passwordHash: await hashPassword(next), updatedAt: now },
      { actor, action: 'admin-user.password', target: u.id, at: now },
    );
    await this.store.deleteSessionsOf(u.id, keepSession);
  }

  /** A new secret to show; nothing changes until `changeTotp` is called with a code from it. */
  proposeTotp(email: string): TotpEnrollment {
    return newTotp(email);
  }

  /** Self-service: the current password and a code from the new secret replace the second factor. */
  async changeTotp(userId: string, current: string, secret: string, code: string, actor: Actor, keepSession: string): Promise<void> {
    const u = await this.get(userId);
    if (!(await passwordMatches(current.slice(0, MAX_PASSWORD_LENGTH), u.passwordHash))) throw new BadRequestError('the current password is wrong');
    await this.saveTotp(u.id, secret, code, 'new ', { actor, action: 'admin-user.totp' });
    await this.store.deleteSessionsOf(u.id, keepSession);
  }

  /**
   * Saves `secret` (sealed) as the person's second factor once `code` proves the authenticator holds
   * it; the code's time step counts as used. `which` names the secret in the errors ('' or 'new ').
   */
  private async saveTotp(userId: string, secret: string, code: string, which: '' | 'new ', audit: { actor: Actor; action: string }): Promise<void> {
    if (!isTotpSecret(secret)) throw new BadRequestError(`the ${which}authenticator secret is malformed; start again`);
    const now = this.clock.now();
    const step = totpStep(secret, code.trim(), now);
    if (step === undefined) throw new BadRequestError(`the code does not match the ${which}secret; check the authenticator app and the device clock`);
    await this.store.updateUser(
      userId,
      { totpSecret: this.secretBox().encrypt(secret, totpContext(userId)), totpLastStep: step, updatedAt: now },
      { ...audit, target: userId, at: now },
    );
  }

  /** Disabling signs the person out everywhere; only an owner disables, nobody disables themself or the last owner. */
  async setDisabled(id: string, disabled: boolean, actor: Actor, actorRole: Role | 'cli', actorUserId?: string): Promise<AdminUserView> {
    if (actorRole !== 'cli') requireOwner(actorRole);
    const u = await this.get(id);
    if (disabled && actorUserId === u.id) throw new ConflictError('you cannot disable your own account');
    const now = this.clock.now();
    await this.store.updateUser(
      u.id,
      { disabledAt: disabled ? now : null, updatedAt: now },
      { actor, action: disabled ? 'admin-user.disable' : 'admin-user.enable', target: u.id, at: now },
      disabled && u.role === 'owner',
    );
    if (disabled) await this.store.deleteSessionsOf(u.id);
    return view(await this.get(u.id));
  }
}

/** The audit log names the person: "Alice Example <alice@example.com>". */
export function userActor(u: Pick<StoredAdminUser, 'name' | 'email'>, from: string): Actor {
  return { who: `${u.name} <${u.email}>`, from };
}

export function view(u: StoredAdminUser): AdminUserView {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    role: u.role,
    totp: u.totpSecret !== null,
    createdBy: u.createdBy,
    createdAt: u.createdAt.toISOString(),
    lastSignInAt: u.lastSignInAt?.toISOString() ?? null,
    disabledAt: u.disabledAt?.toISOString() ?? null,
  };
}

/**
 * Changes to admin users (create, role, password and authenticator resets, disable, delete) are
 * for owners only: an administrator may see the list (users:manage) but could otherwise make
 * themself or a friend an owner.
 */
export function mayChangeUsers(role: Role): boolean {
  return role === 'owner';
}

function requireOwner(actorRole: Role): void {
  requirePermission(actorRole, 'users:manage');
  if (!mayChangeUsers(actorRole)) throw new ForbiddenError('only an owner may create, change, disable or delete admin users');
}

const totpContext = (id: string) => `admin-user:${id}:totp`;

function validName(v: unknown): string {
  const s = typeof v === 'string' ? v.trim() : '';
  if (!s || s.length > 200 || /[<>]/.test(s)) throw new BadRequestError('name must be 1 to 200 characters, without < and >');
  if (hasUnprintable(s)) throw new BadRequestError('name contains control or invisible formatting characters');
  return s;
}

function validEmail(v: unknown): string {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (s.length > 254 || !/^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(s)) throw new BadRequestError('email must be an address like alice@example.com');
  return s;
}

function checkPassword(p: string): void {
  if (typeof p !== 'string' || p.length < MIN_PASSWORD_LENGTH || p.length > MAX_PASSWORD_LENGTH)
    throw new BadRequestError(`the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
}
