import { secretsEqual } from '../shared/bytes';
import { ChallengeVerifier } from '../scep/scep.ports';

/** The default endpoint's shared challenge (SCEPTER_STATIC_CHALLENGE), compared in constant time. */
export class StaticChallengeVerifier implements ChallengeVerifier {
  constructor(private readonly secret: string) {}

  async precheck(password: string | undefined) {
    if (password === undefined || password === '') return { ok: false as const, reason: 'challengePassword missing' };
    return secretsEqual(password, this.secret) ? { ok: true as const } : { ok: false as const, reason: 'challengePassword not accepted', guess: true };
  }
}
