import type { Transaction } from '../db/transaction';
import { Integration, IntegrationStatus } from './integration.types';

/** Work another module does inside our transaction (`tx` is opaque here: only db/ looks inside). */
export type InTransaction = (tx: Transaction) => Promise<Record<string, unknown> | void>;

/**
 * The one read other modules make of integrations (WS1 settings, App Config keys, the migration,
 * the trust check): by id and all of them, deleted ones included; callers decide what a deleted
 * one answers. The IntegrationRepository implements it.
 */
export interface IntegrationLookup {
  findIntegration(id: string): Promise<Integration | undefined>;
  listIntegrations(): Promise<Integration[]>;
}

export interface StatusChange {
  status: IntegrationStatus;
  groupName: string | null;
}

export interface UserGroup {
  name: string;
  members: string[];
  createdAt: Date;
}
