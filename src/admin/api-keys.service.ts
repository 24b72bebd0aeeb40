import { Clock } from '../shared/clock';
import { BadRequestError, NotFoundError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';
import type { AdminRepository } from '../db/admin.repository';
import { StoredApiKey } from './api-key.types';
import { Actor } from './audit.types';
import { Role } from './roles';
import { hashSecret, randomId, randomSecret, secretMatches } from './secret-token';

const PREFIX = 'scepter';
const KEY_ID = /^AK[A-Z2-9]{14}$/;
/** last-used times are written at most this often per key, not on every request */
const LAST_USED_RESOLUTION_MS = 60_000;
export const MAX_KEY_NAME = 100;

export interface ApiKeyInfo {
  id: string;
  name: string | null;
  role: Role;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Principal {
  keyId: string;
  role: Role;
}

export interface NewApiKey {
  /** what the key is for, e.g. "WS1 migration script" */
  name?: string;
  /** after this instant the key is refused (401) */
  expiresAt?: Date;
}

/**
 * Admin API keys: `scepter.<key id>.<secret>`. Only SHA-256 of the secret is stored; the key is
 * shown once. The id in the key finds the row, so verification is one lookup and one
 * constant-time comparison. A key may expire; its last use is recorded (to the minute).
 */
export class ApiKeyService {
  constructor(
    private readonly store: AdminRepository,
    private readonly clock: Clock,
  ) {}

  /** The key id of a well-formed presented key (for the per-credential failure count), else undefined. */
  static keyIdOf(presented: string): string | undefined {
    const [prefix, id, secret, extra] = presented.split('.');
    return prefix === PREFIX && id !== undefined && KEY_ID.test(id) && !!secret && extra === undefined ? id : undefined;
  }

  async create(
    role: Role,
    actor: Actor,
    opts: NewApiKey = {},
  ): Promise<{ key: string; id: string; role: Role; name: string | null; expiresAt: string | null }> {
    const now = this.clock.now();
    const name = opts.name === undefined ? null : checkedName(opts.name);
    if (opts.expiresAt !== undefined && !(opts.expiresAt.getTime() > now.getTime())) throw new BadRequestError('the expiry must be in the future');
    const id = randomId('AK', 14);
    const secret = randomSecret();
    const expiresAt = opts.expiresAt ?? null;
    const row: StoredApiKey = {
      id,
      name,
      role,
      secretHash: hashSecret(id, secret),
      createdBy: actor.who,
      createdAt: now,
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.store.insertKey(row, {
      actor,
      action: 'api-key.create',
      target: id,
      details: { role, name, expiresAt: expiresAt?.toISOString() ?? null },
      at: now,
    });
    return { key: `${PREFIX}.${id}.${secret}`, id, role, name, expiresAt: expiresAt?.toISOString() ?? null };
  }

  /** The key's principal, or undefined for anything unknown, malformed, expired or revoked. */
  async authenticate(presented: string): Promise<Principal | undefined> {
    const [, id, secret] = presented.split('.');
    const wellFormed = ApiKeyService.keyIdOf(presented) !== undefined;
    const row = wellFormed ? await this.store.findKey(id!) : undefined;
    const matches = secretMatches(id ?? '', secret ?? '', row?.secretHash);
    const now = this.clock.now();
    if (!row || !matches || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= now.getTime())) return undefined;
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) await this.store.touchKey(row.id, now);
    return { keyId: row.id, role: row.role };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.store.listKeys()).map(info);
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    const now = this.clock.now();
    if (!(await this.store.revokeKey(id, now, { actor, action: 'api-key.revoke', target: id, at: now })))
      throw new NotFoundError(`no active API key ${id.slice(0, 40)}`);
  }

  async find(id: string): Promise<ApiKeyInfo | undefined> {
    const row = await this.store.findKey(id);
    return row && info(row);
  }
}

function checkedName(name: string): string {
  const n = name.trim();
  if (!n) throw new BadRequestError('the key name is empty');
  if (n.length > MAX_KEY_NAME) throw new BadRequestError(`the key name is longer than ${MAX_KEY_NAME} characters`);
  if (hasUnprintable(n)) throw new BadRequestError('the key name contains control or invisible formatting characters');
  return n;
}

function info(k: StoredApiKey): ApiKeyInfo {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    createdBy: k.createdBy,
    createdAt: k.createdAt.toISOString(),
    expiresAt: iso(k.expiresAt),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
  };
}
