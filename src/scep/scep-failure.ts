import { AppError } from '../shared/errors';

/** RFC 8894 section 3.2.1.4 failInfo. */
export enum FailInfo {
  badAlg = 0,
  badMessageCheck = 1,
  badRequest = 2,
  badTime = 3,
  badCertId = 4,
}

/**
 * A SCEP request we could decrypt and understand but refuse. It becomes a signed CertRep FAILURE
 * carrying `failInfo` and `text` (as failInfoText), never an HTTP error.
 */
export class ScepFailure extends AppError {
  constructor(
    readonly failInfo: FailInfo,
    message: string,
    /** a challengePassword that matches no challenge (see ChallengeVerifier) */
    readonly challengeGuess = false,
  ) {
    super(message, { status: 200, code: `scep_${FailInfo[failInfo]}` });
  }
}
