import { EntitySchema } from 'typeorm';
import type { StoredCertificate } from '../../scep/scep.ports';
import type { DeviceCertificate } from '../../trust/trust.ports';
import { ColumnTypes } from '../dialect';

/**
 * An issued certificate as stored: what SCEP and the trust check read of it, and how it was issued
 * and revoked. `serial` is uppercase hex, as `openssl x509 -serial` prints it.
 */
export interface CertificateRow extends StoredCertificate, DeviceCertificate {
  id: number;
  publicKeyHash: string;
  transactionId: string | null;
  endpointId: string;
  revocationReason: number | null;
  /** crl_state revision of the revoking transaction (null before that migration, or not revoked) */
  revocationRevision: number | string | null;
  /** serial of the certificate this one renewed (unique: a certificate renews once); null for an enrollment */
  renewedFrom: string | null;
  /** the CA generation that issued it (1: the first CA) */
  caGeneration: number;
  createdAt: Date;
}

export const certificateEntity = (t: ColumnTypes) =>
  new EntitySchema<CertificateRow>({
    name: 'Certificate',
    tableName: 'certificates',
    columns: {
      id: { type: Number, primary: true, generated: 'increment' },
      serial: { type: String, length: 64, unique: true },
      subject: { type: String, length: 1024 },
      fingerprintSha256: { name: 'fingerprint_sha256', type: String, length: 64 },
      publicKeyHash: { name: 'public_key_hash', type: String, length: 64 },
      notBefore: { name: 'not_before', type: t.timestamp },
      notAfter: { name: 'not_after', type: t.timestamp },
      der: { type: t.binary },
      transactionId: { name: 'transaction_id', type: String, length: 128, nullable: true },
      endpointId: { name: 'endpoint_id', type: String, length: 64 },
      integrationId: { name: 'integration_id', type: String, length: 64, nullable: true },
      deviceId: { name: 'device_id', type: String, length: 256, nullable: true },
      status: { type: String, length: 16 },
      revokedAt: { name: 'revoked_at', type: t.timestamp, nullable: true },
      revocationReason: { name: 'revocation_reason', type: Number, nullable: true },
      revocationRevision: { name: 'revocation_revision', type: t.bigint, nullable: true },
      lastSeenAt: { name: 'last_seen_at', type: t.timestamp, nullable: true },
      renewedFrom: { name: 'renewed_from', type: String, length: 64, nullable: true },
      caGeneration: { name: 'ca_generation', type: Number, default: 1 },
      createdAt: { name: 'created_at', type: t.timestamp },
    },
  });
