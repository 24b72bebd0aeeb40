import { Actor } from '../admin/audit.types';
import { Clock } from '../shared/clock';
import { BadRequestError, ConflictError, NotFoundError } from '../shared/errors';
import { hasUnprintable } from '../shared/printable-text';
import type { IntegrationRepository } from '../db/integration.repository';
import { UserGroup } from './integration.ports';

export interface GroupView {
  name: string;
  members: string[];
  createdAt: string;
}

/** Users and the named groups a `test-group` status limits an integration to. */
export class UserGroupService {
  constructor(
    private readonly store: IntegrationRepository,
    private readonly clock: Clock,
  ) {}

  async create(name: unknown, actor: Actor): Promise<GroupView> {
    const n = validName(name, 'group name');
    const now = this.clock.now();
    if (!(await this.store.insertGroup(n, now, { actor, action: 'group.create', target: n, at: now }))) throw new ConflictError(`group ${n} exists`);
    return this.show(n);
  }

  async addMember(group: string, user: unknown, actor: Actor): Promise<GroupView & { added: boolean }> {
    const username = validName(user, 'user name');
    const now = this.clock.now();
    const res = await this.store.addMember(group, username, now, { actor, action: 'group.add-member', target: group, details: { user: username }, at: now });
    return { ...(await this.show(group)), added: res === 'added' };
  }

  async removeMember(group: string, user: unknown, actor: Actor): Promise<GroupView & { removed: boolean }> {
    const username = validName(user, 'user name');
    const res = await this.store.removeMember(group, username, {
      actor,
      action: 'group.remove-member',
      target: group,
      details: { user: username },
      at: this.clock.now(),
    });
    return { ...(await this.show(group)), removed: res === 'removed' };
  }

  /** Refused (409) while an integration's test-group status names the group. */
  async delete(name: string, actor: Actor): Promise<{ name: string; deleted: true; members: number }> {
    const { members } = await this.store.deleteGroup(name, { actor, action: 'group.delete', target: name, at: this.clock.now() });
    return { name, deleted: true, members };
  }

  async show(name: string): Promise<GroupView> {
    const g = await this.store.findGroup(name);
    if (!g) throw new NotFoundError(`no group ${name.slice(0, 100)}`);
    return view(g);
  }

  async list(): Promise<GroupView[]> {
    return (await this.store.listGroups()).map(view);
  }
}

function view(g: UserGroup): GroupView {
  return { name: g.name, members: g.members, createdAt: g.createdAt.toISOString() };
}

function validName(v: unknown, what: string): string {
  const s = typeof v === 'string' ? v.trim() : '';
  if (!s || s.length > 200) throw new BadRequestError(`${what} must be 1 to 200 characters`);
  if (hasUnprintable(s)) throw new BadRequestError(`${what} contains control or invisible formatting characters`);
  return s;
}
