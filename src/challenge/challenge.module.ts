import { ChallengeRepository } from '../db/challenge.repository';
import { ChallengeService } from './challenge.service';
import { DeviceIdRule } from './device-id-rule';
import type { BuildContext } from '../shared/build-context';

/** Dynamic one-time challenges: their store, the service that mints them, the device-id rule. */
export function buildChallengeModule({ config, db, clock }: BuildContext) {
  const challengeStore = new ChallengeRepository(db);
  return {
    challengeStore,
    challenges: new ChallengeService(challengeStore, config.challenge, clock),
    deviceIds: new DeviceIdRule(config.deviceIdPattern),
  };
}

export type ChallengeModule = ReturnType<typeof buildChallengeModule>;
