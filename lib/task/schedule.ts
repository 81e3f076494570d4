import { CronExpressionParser } from 'cron-parser';
import { InvalidOptionError } from '../errors';
import { instantsOf, offsetsAround, zoneOffset } from './wall-clock';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;

/**
 * @internal The longest `every`: ten years of 365.25 days (315,576,000,000 ms). A chain's due
 * times are Redis's clock plus the period, written by Lua, whose tostring keeps 14 digits: past
 * 1e14 ms (the year 5138) they were stored rounded in exponent form, and past 8.64e15 ms no Date
 * holds them (listings showed no due time). Ten years keeps them exact for three thousand years;
 * a longer period is no schedule (enqueue the task with a delay instead).
 */
export const MAX_EVERY_MS = 10 * 365.25 * 86_400_000;

/** @internal `every` as milliseconds: an integer in [10, MAX_EVERY_MS], or '250ms', '30s', '5m', '2h', '1d'. */
export function parseEvery(option: string, value: unknown): number {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? durationMs(value.trim()) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 10 || ms > MAX_EVERY_MS) {
    throw new InvalidOptionError(
      option,
      `milliseconds >= 10 and at most ${MAX_EVERY_MS} (10 years), or a duration such as "30s", "5m", "1h"`,
      value,
    );
  }
  return ms;
}

function durationMs(text: string): number {
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNITS[match[2]] : NaN;
}

/**
 * @internal Throws InvalidOptionError unless `cron` (with `timezone`) parses, its hashed fields
 * (`H`) drawn from `seed`, the chain's key, as every computation of its fire times draws them
 * (see cronFires): `0 0 H 2 *` draws a day February lacks for some keys, and checked with another
 * seed it passed here, then failed the first fire times (a bare Error from schedule(), every boot
 * of a `@Task`).
 */
export function checkCron(option: string, cron: unknown, timezone: unknown, seed?: string): void {
  if (typeof cron !== 'string')
    throw new InvalidOptionError(option, 'a cron expression string such as "*/5 * * * *"', cron);
  // A zone the runtime does not know fails the reading of its wall clock (a RangeError from
  // Intl): it is the zone's fault, and named so.
  if (timezone !== undefined && (typeof timezone !== 'string' || !isKnownTimeZone(timezone))) {
    throw new InvalidOptionError(
      `${option.replace(/cron$/, 'timezone')}`,
      'an IANA time zone name such as "Europe/Paris"',
      timezone,
    );
  }
  // cron-parser fills missing fields with '*': '' or '0 8' would silently run every minute.
  const fields = cron.trim().split(/\s+/).filter(Boolean).length;
  if (!cron.trim().startsWith('@') && (fields < 5 || fields > 6)) {
    throw new InvalidOptionError(option, `a cron expression of 5 or 6 fields (got ${fields})`, cron);
  }
  try {
    cronFires(cron, timezone as string | undefined, Date.now(), 1, seed ?? cron);
  } catch (error) {
    throw new InvalidOptionError(option, `a valid cron expression (${(error as Error).message})`, cron);
  }
}

/** Whether this runtime's time zone data knows `zone` (what wall-clock.ts reads its zones with). */
function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * @internal The zone of a cron without `timezone`: one zone for the whole fleet. The process's own
 * zone would differ between workers, and a mixed fleet would alternate between their slots.
 */
export const CRON_DEFAULT_TIMEZONE = 'UTC';

/** @internal How many upcoming fire times a cron run hands its settle script (see successor.lua). */
export const CRON_FIRES = 16;

/**
 * @internal The first `count` fire times of `cron` strictly after `afterMs`, in `timezone` (else
 * UTC). Computed from a slot, never from this process's clock: Redis's clock picks among them.
 * A hashed field (`H`, as in Jenkins) takes its value from `seed`, the chain's key (else the
 * cron itself): without one, cron-parser drew it from Math.random at every call, so each boot
 * and each settle put the chain on another grid.
 *
 * The cron is evaluated on the zone's wall clock (in UTC, which has no daylight saving: see
 * wall-clock.ts), and each wall time it matches is then placed at its instant, so one rule holds
 * in every zone: a wall time a gap skips fires the gap's length later (Paris 02:30 -> 03:30); one
 * an overlap repeats fires once, at its first instant, unless the cron matches every hour, which
 * then fires at both and keeps its pace; two wall times placed at one instant fire once.
 * cron-parser's own zone handling dropped valid times next to a gap (Nuuk, Chatham), dropped a
 * time in a 30-minute gap and failed ("loop limit exceeded") inside a 30-minute overlap (Lord
 * Howe), and fired a time of a 2-hour overlap twice (Troll).
 */
export function cronFires(
  cron: string,
  timezone: string | undefined,
  afterMs: number,
  count = CRON_FIRES,
  seed = cron,
): number[] {
  const zone = timezone ?? CRON_DEFAULT_TIMEZONE;
  const { before, after } = offsetsAround(zone, afterMs);
  const now = zoneOffset(zone, afterMs);
  const [least, most] = [Math.min(before, now, after), Math.max(before, now, after)];
  // Wall times up to a change's length before afterMs's own can still fire after it: one a gap
  // just moved past it, or one whose second instant (an overlap under way) is still to come.
  const walls = wallTimes(cron, afterMs + now - (most - least), seed);
  const everyHour = walls.everyHour;
  const fires: number[] = [];
  const seconds: number[] = []; // second instants of an overlap's wall times, due after its first pass
  const fire = (at: number) => {
    if (at > (fires.at(-1) ?? afterMs)) fires.push(at);
  };
  for (const wall of walls) {
    if (wall - least <= afterMs) continue; // each of its instants is at or before afterMs
    const [first, second] = instantsOf(zone, wall);
    while (seconds.length && seconds[0] < first) fire(seconds.shift()!);
    fire(first);
    if (second !== undefined && everyHour) seconds.push(second);
    if (fires.length >= count) return fires;
  }
  return fires;
}

/**
 * The wall times `cron` matches after `fromWall`, in order, endless (cron-parser throws for a cron
 * that matches none). `everyHour`: its hour field matches every hour (as `*`).
 */
function wallTimes(cron: string, fromWall: number, seed: string): Iterable<number> & { everyHour: boolean } {
  const both = bothDayFields(cron);
  const dates = CronExpressionParser.parse(both?.dayOfMonthOnly ?? cron, {
    currentDate: new Date(fromWall),
    tz: 'UTC',
    hashSeed: seed,
  });
  const weekdays = both && CronExpressionParser.parse(both.dayOfWeekOnly, { tz: 'UTC', hashSeed: seed });
  function* times(): Generator<number> {
    for (let skipped = 0; ;) {
      const date = dates.next();
      if (!weekdays || weekdays.includesDate(date)) {
        yield date.getTime();
        continue;
      }
      // Its weekday is not one: none of this day's times fires, go on from the next day.
      if (++skipped > MAX_SKIPPED_DAYS)
        throw new Error(`no fire time within ${MAX_SKIPPED_DAYS} days of its month days`);
      date.addDay();
      dates.reset(new Date(date.getTime() - 1));
    }
  }
  return { [Symbol.iterator]: times, everyHour: dates.fields.hour.values.length === 24 };
}

/** Days of month a cron of both day fields may pass over before it is deemed to fire never. */
const MAX_SKIPPED_DAYS = 20_000;

// A cron whose day of month and day of week must both match, as standard cron (Vixie cron,
// cronie) reads one where both are given and either starts with `*` (`*/2`): the cron with its
// day of month alone (day of week `*`), and its day of week alone at any time of day. Undefined
// for any other cron, where cron-parser's rule is cron's (both restricted without a `*`: either
// matches; one a bare `*` or `?`: the other decides). cron-parser takes `*/2` for a restricted
// field, so `0 9 */2 * 1` ran on every odd day and every Monday, not on the Mondays that are odd.
function bothDayFields(cron: string): { dayOfMonthOnly: string; dayOfWeekOnly: string } | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return undefined;
  const dom = fields.length - 3;
  const dow = fields.length - 1;
  const wildcard = (field: string) => field === '*' || field === '?';
  if (wildcard(fields[dom]) || wildcard(fields[dow])) return undefined;
  if (!fields[dom].startsWith('*') && !fields[dow].startsWith('*')) return undefined;
  const month = fields[dow - 1];
  return {
    dayOfMonthOnly: fields.map((f, i) => (i === dow ? '*' : f)).join(' '),
    // Any time of day: it only picks the days (times are the other one's).
    dayOfWeekOnly: `* * * * ${month} ${fields[dow]}`,
  };
}

/** @internal What every periodic key starts with (such keys live in partition 0). */
export const PERIODIC_KEY_PREFIX = 'periodic:';

/** @internal The task key every periodic task runs under: one live run per task. */
export function periodicKey(taskName: string): string {
  return `${PERIODIC_KEY_PREFIX}${taskName}`;
}
