import { Clock } from '../shared/clock';
import { NotFoundError } from '../shared/errors';
import { ApiKeyStore, StoredApiKey } from './admin-ports';
import { Actor } from './audit.types';
import { Role } from './roles';
import { hashSecret, randomId, randomSecret, secretMatches } from './secret-token';

const PREFIX = 'scepter';

export interface ApiKeyInfo {
  id: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface Principal {
  keyId: string;
  role: Role;
}

/**
 * Admin API keys: `scepter.<key id>.<secret>`. Only SHA-256 of the secret is stored; the key is
 * shown once. The id in the key finds the row, so verification is one lookup and one
 * constant-time comparison.
 */
export class ApiKeyService {
  constructor(private readonly store: ApiKeyStore, private readonly clock: Clock) {}

  async create(role: Role, actor: Actor): Promise<{ key: string; id: string; role: Role }> {
    const id = randomId('AK', 14);
    const secret = randomSecret();
    const now = this.clock.now();
    const row: StoredApiKey = { id, role, secretHash: hashSecret(id, secret), createdBy: actor.who, createdAt: now, revokedAt: null };
    await this.store.insertKey(row, { actor, action: 'api-key.create', target: id, details: { role }, at: now });
    return { key: `${PREFIX}.${id}.${secret}`, id, role };
  }

  /** The key's principal, or undefined for anything unknown, malformed or revoked. */
  async authenticate(presented: string): Promise<Principal | undefined> {
    const [prefix, id, secret, extra] = presented.split('.');
    const wellFormed = prefix === PREFIX && !!id && /^AK[A-Z2-9]{14}$/.test(id) && !!secret && extra === undefined;
    const row = wellFormed ? await this.store.findKey(id!) : undefined;
    const matches = secretMatches(id ?? '', secret ?? '', row?.secretHash);
    if (!row || !matches || row.revokedAt) return undefined;
    return { keyId: row.id, role: row.role };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.store.listKeys()).map(info);
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    const now = this.clock.now();
    if (!(await this.store.revokeKey(id, now, { actor, action: 'api-key.revoke', target: id, at: now }))) throw new NotFoundError(`no active API key ${id}`);
  }

  async find(id: string): Promise<ApiKeyInfo | undefined> {
    const row = await this.store.findKey(id);
    return row && info(row);
  }
}

function info(k: StoredApiKey): ApiKeyInfo {
  return { id: k.id, role: k.role, createdBy: k.createdBy, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null };
}
