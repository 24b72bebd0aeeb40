import { expect } from 'chai';
import { TrustedProxies, unmapped } from '../../../src/trust/trusted-proxies';
import { AuthLogWriter } from '../../../src/trust/auth-log-writer';
import { parseSince } from '../../../src/trust/auth-log.service';
import { LruCache } from '../../../src/trust/lru-cache';
import { TrustSnapshot } from '../../../src/trust/trust-snapshot';
import { systemClock } from '../../../src/shared/clock';
import type { AuthLogStore, IntegrationDirectory, TrustPolicyStore } from '../../../src/trust/trust.ports';
import type { AuthLogRecord } from '../../../src/trust/trust.types';
import type { IntegrationStatus } from '../../../src/integrations/integration.types';
import { loadConfig } from '../../../src/config/config';

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

describe('device trust units', () => {
  describe('TrustedProxies', () => {
    const p = new TrustedProxies(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
    it('matches addresses and ranges, IPv4-mapped IPv6 too', () => {
      expect(p.contains('10.1.2.3')).to.equal(true);
      expect(p.contains('::ffff:10.1.2.3')).to.equal(true);
      expect(p.contains('192.0.2.7')).to.equal(true);
      expect(p.contains('192.0.2.8')).to.equal(false);
      expect(p.contains('2001:db8::1')).to.equal(true);
      expect(p.contains('2001:db9::1')).to.equal(false);
      expect(new TrustedProxies([]).contains('127.0.0.1')).to.equal(false);
      expect(unmapped('::ffff:127.0.0.1')).to.equal('127.0.0.1');
    });
    it('takes the client address from the nearest untrusted X-Forwarded-For hop, only behind a trusted proxy', () => {
      expect(p.clientAddress('10.0.0.5', '198.51.100.9, 10.0.0.9')).to.equal('198.51.100.9');
      expect(p.clientAddress('10.0.0.5', 'spoofed, 203.0.113.1')).to.equal('203.0.113.1');
      expect(p.clientAddress('198.51.100.1', '203.0.113.1')).to.equal('198.51.100.1');
      expect(p.clientAddress('10.0.0.5', undefined)).to.equal('10.0.0.5');
    });
    it('SCEPTER_TRUSTED_PROXIES is validated at start', () => {
      expect(loadConfig({ SCEPTER_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1' }).trust.trustedProxies).to.deep.equal(['127.0.0.1', '10.0.0.0/8', '::1']);
      for (const bad of ['nginx.local', '10.0.0.0/33', '1.2.3.4/8/9'])
        expect(() => loadConfig({ SCEPTER_TRUSTED_PROXIES: bad })).to.throw('SCEPTER_TRUSTED_PROXIES');
      expect(() => loadConfig({ SCEPTER_TLS_CERT: 'a.pem' })).to.throw('SCEPTER_TLS_KEY');
    });
  });

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

  it('parseSince takes ISO times and durations back from now', () => {
    const now = new Date('2026-11-28T12:00:00Z');
    expect(parseSince('15m', now).toISOString()).to.equal('2026-11-28T11:45:00.000Z');
    expect(parseSince('2d', now).toISOString()).to.equal('2026-11-26T12:00:00.000Z');
    expect(parseSince('2026-11-01T00:00:00Z', now).toISOString()).to.equal('2026-11-01T00:00:00.000Z');
    expect(() => parseSince('last week', now)).to.throw('since must be');
  });

  it('LruCache forgets the least recently used entry', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.get('a');
    c.set('c', 3);
    expect([c.get('a'), c.get('b'), c.get('c')]).to.deep.equal([1, undefined, 3]);
  });
});

describe('TrustSnapshot', () => {
  it('a refresh asked for during a reload starts after it, so it sees a change committed meanwhile', async () => {
    // the table as the database holds it; the first read is slow, like a poll caught mid-query
    let status: IntegrationStatus = 'all';
    let reads = 0;
    let releaseFirst!: () => void;
    let firstStarted!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    const firstRead = new Promise<void>((r) => (firstStarted = r));
    const directory: IntegrationDirectory = {
      async listIntegrations() {
        const seen = status;
        if (reads++ === 0) {
          firstStarted();
          await firstHeld;
        }
        return [{ id: 'i1', type: 'ios-certs', status: seen, groupName: null, deleted: false }];
      },
      isMember: async () => false,
      integrationForConfigurationKey: async () => undefined,
    };
    const policies: TrustPolicyStore = { listPolicies: async () => [], setPolicy: async () => undefined, removePolicy: async () => false };
    const snap = new TrustSnapshot(directory, policies, systemClock, { pollMs: 60_000, onError: () => undefined });
    const poll = snap.refresh();
    await firstRead; // the poll has read 'all' and is still running
    status = 'disabled'; // an admin's change commits while that read is held
    const mine = snap.refresh();
    const again = snap.refresh();
    expect(again).to.equal(mine, 'callers during a reload share one follow-up');
    releaseFirst();
    await poll;
    await mine;
    expect(snap.integration('i1')?.status).to.equal('disabled');
    expect(reads).to.equal(2);
  });
});
