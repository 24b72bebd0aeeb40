import { expect } from 'chai';
import { AuthLogWriter } from '../../../src/trust/auth-log-writer';
import type { AuthLogStore } from '../../../src/trust/trust.ports';
import type { AuthLogRecord } from '../../../src/trust/trust.types';

const record = (user: string): AuthLogRecord => ({
  at: new Date(),
  user,
  application: null,
  decision: 'allow',
  trusted: false,
  reason: 'not-checked',
  policy: 'not-configured',
  method: 'none',
  integration: null,
  device: null,
  serial: null,
  sourceAddress: '127.0.0.1',
  note: null,
});

class FakeLog implements AuthLogStore {
  batches: AuthLogRecord[][] = [];
  failNext = 0;
  async insertMany(r: readonly AuthLogRecord[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('database is locked');
    }
    this.batches.push([...r]);
  }
  async list() {
    return [];
  }
  async lastForDevice() {
    return undefined;
  }
}
describe('AuthLogWriter', () => {
  it('writes in batches of at most maxBatch, and the rest on flush', async () => {
    const store = new FakeLog();
    const w = new AuthLogWriter(store, { flushMs: 10_000, maxBatch: 3, maxBuffered: 100, onError: () => undefined });
    for (let i = 0; i < 7; i++) w.append(record(`u${i}`));
    await w.close();
    expect(store.batches.map((b) => b.length)).to.deep.equal([3, 3, 1]);
  });
  it('writes after flushMs without being asked', async () => {
    const store = new FakeLog();
    const w = new AuthLogWriter(store, { flushMs: 20, maxBatch: 500, maxBuffered: 100, onError: () => undefined });
    w.append(record('a'));
    await new Promise((r) => setTimeout(r, 60));
    expect(store.batches).to.have.length(1);
  });
  it('keeps records when the database refuses, and bounds what it keeps', async () => {
    const store = new FakeLog();
    const errors: number[] = [];
    const w = new AuthLogWriter(store, { flushMs: 10_000, maxBatch: 10, maxBuffered: 5, onError: (_e, dropped) => errors.push(dropped) });
    store.failNext = 1;
    for (let i = 0; i < 4; i++) w.append(record(`u${i}`));
    await w.flush();
    expect(w.pending).to.equal(4);
    for (let i = 4; i < 7; i++) w.append(record(`u${i}`));
    expect(w.pending).to.equal(5);
    await w.close();
    expect(store.batches.flat().map((r) => r.user)).to.deep.equal(['u2', 'u3', 'u4', 'u5', 'u6']);
    expect(errors).to.include(1);
  });
});
