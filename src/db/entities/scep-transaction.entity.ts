import { EntitySchema } from 'typeorm';
import { ColumnTypes } from '../dialect';

export interface ScepTransactionRow {
  id: number;
  endpointId: string;
  transactionId: string;
  publicKeyHash: string;
  messageType: number;
  pkiStatus: number; // 0 SUCCESS, 2 FAILURE, 3 PENDING
  failInfo: number | null;
  failText: string | null;
  certificateSerial: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One row per (endpoint, transactionID): the outcome a repeated request gets again. */
export const scepTransactionEntity = (t: ColumnTypes) =>
  new EntitySchema<ScepTransactionRow>({
    name: 'ScepTransaction',
    tableName: 'scep_transactions',
    columns: {
      id: { type: Number, primary: true, generated: 'increment' },
      endpointId: { name: 'endpoint_id', type: String, length: 64 },
      transactionId: { name: 'transaction_id', type: String, length: 128 },
      publicKeyHash: { name: 'public_key_hash', type: String, length: 64 },
      messageType: { name: 'message_type', type: Number },
      pkiStatus: { name: 'pki_status', type: Number },
      failInfo: { name: 'fail_info', type: Number, nullable: true },
      failText: { name: 'fail_text', type: String, length: 256, nullable: true },
      certificateSerial: { name: 'certificate_serial', type: String, length: 64, nullable: true },
      createdAt: { name: 'created_at', type: t.timestamp },
      updatedAt: { name: 'updated_at', type: t.timestamp },
    },
    uniques: [{ name: 'uq_scep_transactions_endpoint_tid', columns: ['endpointId', 'transactionId'] }],
  });
