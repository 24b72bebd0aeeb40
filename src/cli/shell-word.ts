/** A value as one POSIX shell word, for commands the CLI prints to be pasted: bare when safe, else single-quoted. */
export function shellWord(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
