import type { Actor } from '../admin/audit.types';
import { Clock } from '../shared/clock';
import { ConflictError } from '../shared/errors';
import type { IntegrationService } from '../integrations/integration.service';
import { RevocationService } from './revocation.service';
import { cliText } from '../shared/terminal-text';

export interface DeletionPreview {
  id: string;
  name: string;
  type: string;
  status: string;
  group: string | null;
  /** unexpired certificates deletion revokes, and how many devices hold them */
  certificates: number;
  devices: number;
  deviceTrustRequired: boolean;
  /** why deletion needs --force, if it does */
  refusal?: string;
}

export interface DeletionResult {
  id: string;
  revoked: number;
  reason: 'cessationOfOperation';
  crlNumber: string | null;
}

/**
 * Deleting an integration invalidates the device certificates it issued: in one transaction the
 * integration is marked deleted (its SCEP and challenge URLs answer 404), every unexpired
 * certificate it issued is revoked (cessationOfOperation) and the audit record says how many; then
 * the CRL is republished. Deleting an active integration while a policy requires trusted devices
 * locks its users out, so that needs `force`.
 */
export class IntegrationDeletion {
  constructor(
    private readonly integrations: IntegrationService,
    private readonly revocation: RevocationService,
    private readonly deviceTrustRequired: () => Promise<boolean>,
    private readonly republish: () => Promise<{ crlNumber: bigint } | undefined>,
    private readonly clock: Clock,
  ) {}

  async preview(id: string): Promise<DeletionPreview> {
    const i = await this.integrations.get(id);
    const [{ certificates, devices }, deviceTrustRequired] = await Promise.all([this.revocation.countRevocable(i.id), this.deviceTrustRequired()]);
    const active = i.status === 'all' || i.status === 'test-group';
    const refusal =
      active && deviceTrustRequired
        ? `integration ${i.id} is active (status ${i.status}${i.groupName ? `, group ${i.groupName}` : ''}) and a device-trust policy requires trusted devices: ` +
          `deleting it makes its ${devices} device(s) untrusted and locks their users out. Disable the integration or relax the policy first, or force it`
        : undefined;
    return {
      id: i.id,
      name: i.name,
      type: i.type,
      status: i.status,
      group: i.groupName,
      certificates,
      devices,
      deviceTrustRequired,
      ...(refusal ? { refusal } : {}),
    };
  }

  async delete(id: string, o: { actor: Actor; force?: boolean }): Promise<DeletionResult> {
    const p = await this.preview(id);
    if (p.refusal && !o.force) throw new ConflictError(p.refusal);
    let revoked = 0;
    await this.integrations.markDeleted(p.id, o.actor, async (tx) => {
      revoked = await this.revocation.revokeAllForIntegration(tx, p.id, 'cessationOfOperation', this.clock.now());
      return { revoked, reason: 'cessationOfOperation', forced: Boolean(p.refusal && o.force) };
    });
    const crl = await this.republish();
    return { id: p.id, revoked, reason: 'cessationOfOperation', crlNumber: crl ? String(crl.crlNumber) : null };
  }
}

export function deletionPreviewText(p: DeletionPreview): string {
  return (
    cliText`Integration ${p.id} "${p.name}" (${p.type}, status ${p.status}${p.group ? `:${p.group}` : ''}).\n` +
    `Deleting it revokes ${p.certificates} unexpired certificate(s) on ${p.devices} device(s) (reason cessationOfOperation), ` +
    `republishes the CRL, and makes its SCEP and challenge URLs answer 404. This cannot be undone.`
  );
}
