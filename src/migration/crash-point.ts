/**
 * Fault injection for the crash tests (test/integration/migration-steps.test.ts): with
 * SCEPTER_MIGRATION_CRASH_AT=<step>:before-commit (Config.migrationCrashAt) the process kills itself
 * with SIGKILL inside that step's transaction, after all its writes and before the commit: the
 * harshest point to crash. Unset (always, in production) it does nothing.
 */
export function crashPoint(at: string | undefined): (label: string) => void {
  return (label) => {
    if (at && at === label) process.kill(process.pid, 'SIGKILL');
  };
}
