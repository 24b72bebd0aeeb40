import { expect } from 'chai';
import { LastExpiry } from '../../../src/ca/last-expiry';

const MINUTE = 60_000;

/** A store whose answer the test sets, counting the reads. */
function store(initial: Map<number, Date>) {
  const s = {
    answer: initial as Map<number, Date> | Error,
    reads: 0,
    lastExpiry(): Promise<Map<number, Date>> {
      s.reads++;
      return s.answer instanceof Error ? Promise.reject(s.answer) : Promise.resolve(s.answer);
    },
  };
  return s;
}

const settle = () => new Promise((r) => setImmediate(r));

describe('ca/last-expiry: an older CA generation publishes until its last certificate expires', () => {
  const t0 = new Date('2027-01-01T00:00:00Z');
  let now: Date;
  const clock = { now: () => now };
  const at = (ms: number) => new Date(t0.getTime() + ms);

  beforeEach(() => (now = t0));

  it('covers every generation until the first read answers, then exactly those with an unexpired certificate', async () => {
    const s = store(new Map([[1, at(60 * MINUTE)]]));
    const errors: unknown[] = [];
    const e = new LastExpiry(s, clock, (err) => errors.push(err));
    expect(e.covers(1, now)).to.equal(true);
    expect(e.covers(2, now)).to.equal(true);
    await settle();
    expect(e.covers(1, now)).to.equal(true);
    // generation 2 issued nothing: nothing left to publish for
    expect(e.covers(2, now)).to.equal(false);
    // the last certificate expires at +60 min: covered just before, not at or after
    expect(e.covers(1, at(60 * MINUTE - 1))).to.equal(true);
    expect(e.covers(1, at(60 * MINUTE))).to.equal(false);
    expect(s.reads).to.equal(1);
    expect(errors).to.deep.equal([]);
  });

  it('re-reads after ten minutes, so a certificate issued since extends the generation', async () => {
    const s = store(new Map([[1, at(5 * MINUTE)]]));
    const e = new LastExpiry(s, clock, () => {});
    e.covers(1, now);
    await settle();
    s.answer = new Map([[1, at(90 * MINUTE)]]);
    now = at(9 * MINUTE);
    expect(e.covers(1, now)).to.equal(false);
    await settle();
    expect(s.reads).to.equal(1);
    now = at(11 * MINUTE);
    e.covers(1, now);
    await settle();
    expect(s.reads).to.equal(2);
    expect(e.covers(1, now)).to.equal(true);
  });

  it('a failed read is reported and keeps the previous answer; one read at a time', async () => {
    const s = store(new Map([[1, at(60 * MINUTE)]]));
    const errors: unknown[] = [];
    const e = new LastExpiry(s, clock, (err) => errors.push(err));
    e.covers(1, now);
    e.covers(1, now);
    expect(s.reads).to.equal(1);
    await settle();
    s.answer = new Error('database down');
    now = at(11 * MINUTE);
    e.covers(1, now);
    await settle();
    expect(errors).to.have.length(1);
    expect(e.covers(1, now)).to.equal(true);
    expect(e.covers(1, at(61 * MINUTE))).to.equal(false);
  });
});
