import { expect } from 'chai';
import { TrustSnapshot } from '../../../src/trust/trust-snapshot';
import { systemClock } from '../../../src/shared/clock';
import type { IntegrationDirectory, TrustPolicyStore } from '../../../src/trust/trust.ports';
import type { IntegrationStatus } from '../../../src/integrations/integration.types';

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
