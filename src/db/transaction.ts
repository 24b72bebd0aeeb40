import type { EntityManager } from 'typeorm';

declare const open: unique symbol;

/**
 * An open database transaction as code outside db/ holds it: opaque, it can only be handed back to
 * db/ code so that more work joins the same transaction (revoking an integration's certificates
 * while the integration is deleted). Only db/ opens one (Database.transaction) and looks inside.
 */
export interface Transaction {
  readonly [open]: true;
}

/** db/ only: the transaction `m` runs, as other modules see it. */
export function transactionOf(m: EntityManager): Transaction {
  return m as unknown as Transaction;
}

/** db/ only: the EntityManager behind a transaction handed back by another module. */
export function managerOf(tx: Transaction): EntityManager {
  return tx as unknown as EntityManager;
}
