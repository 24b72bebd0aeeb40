/**
 * A daily run time ("HH:MM", server local time) and the slot it defines: the most recent occurrence
 * at or before `now`, named by its local date. All instances compute the same slot key, which is
 * what the sync lease records to run the nightly job once.
 */
export interface DailyTime {
  hour: number;
  minute: number;
}

export function parseDailyTime(text: string): DailyTime {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!m) throw new Error(`not a HH:MM time: ${JSON.stringify(text)}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

export interface Slot {
  key: string;
  startsAt: Date;
}

export function currentSlot(time: DailyTime, now: Date): Slot {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate(), time.hour, time.minute, 0, 0);
  if (start > now) start.setDate(start.getDate() - 1); // setDate keeps the wall-clock time across DST changes
  const key = `${start.getFullYear()}-${String(start.getMonth() + 1).padStart(2, '0')}-${String(start.getDate()).padStart(2, '0')}`;
  return { key, startsAt: start };
}
