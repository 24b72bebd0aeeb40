import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

export interface UserRow {
  id: number;
  username: string;
  createdAt: Date;
}

export interface UserGroupRow {
  id: number;
  name: string;
  createdAt: Date;
}

export interface UserGroupMemberRow {
  groupId: number;
  userId: number;
  createdAt: Date;
}

export const userEntity = (t: ColumnTypes) =>
  new EntitySchema<UserRow>({
    name: 'User',
    tableName: 'users',
    columns: {
      id: { type: Number, primary: true, generated: 'increment' },
      username: { type: String, length: 200, unique: true },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });

export const userGroupEntity = (t: ColumnTypes) =>
  new EntitySchema<UserGroupRow>({
    name: 'UserGroup',
    tableName: 'user_groups',
    columns: {
      id: { type: Number, primary: true, generated: 'increment' },
      name: { type: String, length: 200, unique: true },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });

export const userGroupMemberEntity = (t: ColumnTypes) =>
  new EntitySchema<UserGroupMemberRow>({
    name: 'UserGroupMember',
    tableName: 'user_group_members',
    columns: {
      groupId: { name: 'group_id', type: Number, primary: true },
      userId: { name: 'user_id', type: Number, primary: true },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });
