import { Actor } from '../admin/audit.types';
import { MintedChallenge } from '../challenge/challenge.service';
import { DeviceIdRule } from '../challenge/device-id-rule';
import { ConflictError } from '../shared/errors';
import { IntegrationService } from './integration.service';
import { scepUrls } from './integration.presenter';
import { buildIosProfile } from './ios-profile.builder';
import { SubjectTemplate } from './subject-template';
import { randomId } from '../admin/secret-token';

export interface IosProfileDeps {
  integrations: IntegrationService;
  /** `deviceId`: the challenge issues only for that device */
  mintChallenge(integrationId: string, deviceId: string): Promise<MintedChallenge>;
  deviceIds: DeviceIdRule;
  /** the CA devices enroll with now (it changes at a rollover's activation) */
  caFingerprintSha1: () => Buffer;
  publicUrl: string;
  audit(actor: Actor, action: string, target: string, details: Record<string, unknown>): Promise<void>;
}

export interface IosProfile {
  mobileconfig: string;
  deviceUid: string;
  challengeExpiresAt: Date;
}

/**
 * `integration profile`: a test profile with a fresh one-time challenge (minting it is audited),
 * bound to the profile's device id: it issues for no other device.
 */
export class IosProfileService {
  constructor(private readonly deps: IosProfileDeps) {}

  async build(id: string, deviceUid: string | undefined, actor: Actor): Promise<IosProfile> {
    const i = await this.deps.integrations.get(id);
    if (i.type !== 'ios-certs' || !i.subjectTemplate)
      throw new ConflictError(`integration ${id} is of type ${i.type}: only ios-certs integrations enroll by SCEP`);
    // without WS1 nobody fills in {DeviceUid}: make up a test identifier unless one is given
    const uid = deviceUid === undefined ? `TEST-${randomId('', 16)}` : this.deps.deviceIds.check(deviceUid, 'deviceUid');
    const template = SubjectTemplate.parse(i.subjectTemplate);
    const minted = await this.deps.mintChallenge(i.id, uid);
    await this.deps.audit(actor, 'integration.profile', i.id, { deviceUid: uid, challengeExpiresAt: minted.expiresAt.toISOString() });
    const mobileconfig = await buildIosProfile({
      integrationId: i.id,
      integrationName: i.name,
      scepUrl: scepUrls(this.deps.publicUrl, i.id).scepUrl,
      template,
      deviceUid: uid,
      challenge: minted.challenge,
      caFingerprintSha1: this.deps.caFingerprintSha1(),
    });
    return { mobileconfig, deviceUid: uid, challengeExpiresAt: minted.expiresAt };
  }
}
