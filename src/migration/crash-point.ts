/**
 * Fault injection for the crash tests (test/integration/migration-crash.test.ts): with
 * SCEPTER_MIGRATION_CRASH_AT=<step>:before-commit the process kills itself with SIGKILL inside that
 * step's transaction, after all its writes and before the commit: the harshest point to crash.
 * Unset (always, in production) it does nothing.
 */
export function crashPointFromEnv(env: NodeJS.ProcessEnv = process.env): (label: string) => void {
  const at = env.SCEPTER_MIGRATION_CRASH_AT;
  return (label) => {
    if (at && at === label) process.kill(process.pid, 'SIGKILL');
  };
}
