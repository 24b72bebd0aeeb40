import type { TlsIdentity } from './tls-server';

/**
 * Keeps the HTTPS listener's certificate issued by the CA generation issuing now: after a rollover's
 * activation, the next poll has a certificate issued by the new CA (files replaced under the CA
 * directory's lock, so instances sharing it adopt one pair) and hands it to the running server
 * (`server.setSecureContext`): connections made from then on get it, open ones keep theirs. An
 * admin-supplied certificate is never replaced.
 */
export class TlsIdentityFollower {
  constructor(
    /** the listener's key and certificate now */
    public identity: TlsIdentity,
    /** the CA generation that issued it */
    private generation: number,
    /** a certificate from the CA issuing at `now` (the one on disk when it is already that CA's) */
    private readonly reissue: (now: Date) => Promise<TlsIdentity>,
    /** installs an identity in the running server */
    private readonly apply: (identity: TlsIdentity) => void,
  ) {}

  /** Reissues when `current` is not the generation that issued the listener's certificate; true when it did. */
  async follow(current: number, now: Date): Promise<boolean> {
    if (this.identity.supplied || current === this.generation) return false;
    const identity = await this.reissue(now);
    this.identity = identity;
    this.generation = current;
    this.apply(identity);
    return true;
  }
}
