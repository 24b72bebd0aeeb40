/**
 * Runs a reload task one at a time. A run in progress may have read its source before the caller's
 * change committed, so a caller never joins it: every call made while it runs shares one follow-up
 * run that starts after it. Bursts cost two runs at most, and results are applied in the order the
 * runs read them.
 */
export class FollowUpRunner {
  private running: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;

  constructor(private readonly task: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.running.then(() => {
      this.queued = undefined;
      return this.task();
    });
    this.queued = next;
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Resolves once the runs asked for so far have ended (successfully or not). */
  settled(): Promise<void> {
    return this.running;
  }
}
