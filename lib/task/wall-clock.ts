// A zone's wall clock, read from this runtime's time zone data (Intl). A wall time is written as
// the UTC milliseconds of the same calendar date and time of day ("naive"): 02:30 on 2025-03-30
// in Paris is Date.UTC(2025, 2, 30, 2, 30), whatever instant (if any) shows it there.

const DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** @internal The zone's offset from UTC at instant `ms`, in ms (whole seconds, as tzdata has them). */
export function zoneOffset(zone: string, ms: number): number {
  if (zone === 'UTC') return 0;
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of format.formatToParts(ms)) {
    const value = Number(part.value);
    if (part.type === 'year') year = value;
    else if (part.type === 'month') month = value;
    else if (part.type === 'day') day = value;
    else if (part.type === 'hour') hour = value;
    else if (part.type === 'minute') minute = value;
    else if (part.type === 'second') second = value;
  }
  const wall = new Date(0);
  wall.setUTCFullYear(year, month - 1, day); // Date.UTC would read years 0-99 as 19xx
  wall.setUTCHours(hour, minute, second, 0);
  return wall.getTime() - Math.floor(ms / 1000) * 1000;
}

/** @internal The wall time instant `ms` shows in `zone`. */
export function wallTime(zone: string, ms: number): number {
  return ms + zoneOffset(zone, ms);
}

/** @internal The zone's offsets a day either side of `ms`: those a wall time near it can have. */
export function offsetsAround(zone: string, ms: number): { before: number; after: number } {
  return { before: zoneOffset(zone, ms - DAY), after: zoneOffset(zone, ms + DAY) };
}

/**
 * @internal The instants that show wall time `wall` in `zone`, earliest first: one; two where the
 * clock was set back over it (an overlap); none where it was set forward over it (a gap), where
 * the one given is the wall time the gap's length later (02:30 in a 02:00 -> 03:00 gap is 03:30),
 * as Temporal's 'compatible' reading does. Assumes, as Temporal does, at most one change of offset
 * within a day of it.
 */
export function instantsOf(zone: string, wall: number): number[] {
  const { before, after } = offsetsAround(zone, wall);
  const instants: number[] = [];
  for (const offset of before === after ? [before] : [before, after]) {
    if (zoneOffset(zone, wall - offset) === offset) instants.push(wall - offset);
  }
  instants.sort((a, b) => a - b);
  // In a gap the clock read `before` until the change: the instant at that offset comes after it.
  return instants.length ? instants : [wall - before];
}
