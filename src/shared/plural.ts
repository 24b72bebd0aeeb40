/** "1 device", "2 devices": a count with its noun in the right number, for human output. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
