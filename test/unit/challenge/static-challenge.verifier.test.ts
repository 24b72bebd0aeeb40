import { expect } from 'chai';
import { StaticChallengeVerifier } from '../../../src/challenge/static-challenge.verifier';

describe('challenge/static-challenge.verifier', () => {
  const verifier = new StaticChallengeVerifier('the-shared-secret');

  it('accepts the configured challenge only', async () => {
    expect(await verifier.precheck('the-shared-secret')).to.deep.equal({ ok: true });
    // a wrong one is a guess, which the SCEP listener counts against the client
    expect(await verifier.precheck('the-shared-secreT')).to.deep.equal({ ok: false, reason: 'challengePassword not accepted', guess: true });
    expect(await verifier.precheck('the-shared-secret-and-more')).to.deep.equal({ ok: false, reason: 'challengePassword not accepted', guess: true });
  });

  it('says when the request carries no challenge', async () => {
    expect(await verifier.precheck(undefined)).to.deep.equal({ ok: false, reason: 'challengePassword missing' });
    expect(await verifier.precheck('')).to.deep.equal({ ok: false, reason: 'challengePassword missing' });
  });
});
