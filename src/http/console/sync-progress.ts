import type { SyncProgress } from '../../mdm/workspace-one/device-sync';
import type { SyncOutcome } from '../../mdm/workspace-one/ws1-sync.service';

export interface SyncRun {
  running: boolean;
  startedAt: string;
  progress: SyncProgress | null;
  outcome: SyncOutcome | null;
  error: string | null;
}

/**
 * "Sync now" from the console runs in the background; the page polls its progress here. In process
 * memory: the sync lease in the database keeps two instances from running one integration's sync at
 * once, and a page on another instance shows the stored sync state instead.
 */
export class SyncProgressBoard {
  private readonly runs = new Map<string, SyncRun>();

  get(id: string): SyncRun | undefined {
    return this.runs.get(id);
  }

  /** false when this process already runs one for the integration */
  start(id: string, run: (onProgress: (p: SyncProgress) => void) => Promise<SyncOutcome | undefined>, describe: (err: unknown) => string): boolean {
    if (this.runs.get(id)?.running) return false;
    const entry: SyncRun = { running: true, startedAt: new Date().toISOString(), progress: null, outcome: null, error: null };
    this.runs.set(id, entry);
    void run((p) => (entry.progress = p))
      .then((o) => (entry.outcome = o ?? null))
      .catch((err) => (entry.error = describe(err)))
      .finally(() => (entry.running = false));
    return true;
  }
}
