import { InvalidOptionError } from '../../lib/errors';
import { checkCron, cronFires } from '../../lib/task/schedule';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const formatters = new Map<string, Intl.DateTimeFormat>();

// The rule README states for a cron in a zone with daylight saving time, in every zone: a wall
// time the clock skips (a gap) fires the gap's length later (Paris 02:30 -> 03:30); a wall time
// the clock repeats (an overlap) fires once, at its first occurrence, unless the cron runs every
// hour (its hour field `*`), which keeps its pace through both passes. cron-parser 5.10.6 broke it
// in zones other than the common ones (review finding).
describe('cronFires across daylight-saving transitions', () => {
  it('keeps a daily time an hour before a gap at midnight (America/Nuuk, America/Scoresbysund)', () => {
    // Nuuk springs from 23:00 (-02) to 00:00 (-01) at 2025-03-30T01:00Z: 22:00 on the 29th is valid.
    for (const zone of ['America/Nuuk', 'America/Scoresbysund']) {
      expect(cronFires('0 22 * * *', zone, Date.UTC(2025, 2, 27), 5).map(iso)).toEqual(
        [
          Date.UTC(2025, 2, 28),
          Date.UTC(2025, 2, 29),
          Date.UTC(2025, 2, 30),
          Date.UTC(2025, 2, 30, 23),
          Date.UTC(2025, 2, 31, 23),
        ].map(iso),
      );
    }
  });

  it('keeps the valid times before a gap at :45, and moves a time in it (Pacific/Chatham)', () => {
    // Chatham springs from 02:45 (+12:45) to 03:45 (+13:45) at 2025-09-27T14:00Z.
    expect(cronFires('*/15 * * * *', 'Pacific/Chatham', Date.UTC(2025, 8, 27, 12, 45), 6).map(iso)).toEqual(
      [13, 13.25, 13.5, 13.75, 14, 14.25].map((h) => iso(Date.UTC(2025, 8, 27) + h * HOUR)),
    );
    // 02:45 on the 28th is in the gap: it fires the gap's length later, at 03:45 (14:00Z).
    expect(cronFires('45 2 * * *', 'Pacific/Chatham', Date.UTC(2025, 8, 26), 3).map(iso)).toEqual(
      [Date.UTC(2025, 8, 26, 14), Date.UTC(2025, 8, 27, 14), Date.UTC(2025, 8, 28, 13)].map(iso),
    );
  });

  it('computes fire times from inside a 30-minute overlap, and moves a time in a 30-minute gap (Australia/Lord_Howe)', () => {
    // Lord Howe falls back from 02:00 (+11) to 01:30 (+10:30) at 2025-04-05T15:00Z.
    for (let after = Date.UTC(2025, 3, 5, 14); after < Date.UTC(2025, 3, 5, 14, 30); after += MINUTE) {
      // 01:00 on the 6th was at 14:00Z: the next is the 7th's, at +10:30.
      expect(iso(cronFires('0 1 * * *', 'Australia/Lord_Howe', after, 1)[0])).toBe(iso(Date.UTC(2025, 3, 6, 14, 30)));
      const quarterPast =
        after < Date.UTC(2025, 3, 5, 14, 15) ? Date.UTC(2025, 3, 5, 14, 15) : Date.UTC(2025, 3, 6, 14, 45);
      expect(iso(cronFires('15 1 * * *', 'Australia/Lord_Howe', after, 1)[0])).toBe(iso(quarterPast));
    }
    // It springs from 02:00 (+10:30) to 02:30 (+11) at 2025-10-04T15:30Z: 02:00 fires at 02:30.
    expect(cronFires('0 2 * * *', 'Australia/Lord_Howe', Date.UTC(2025, 9, 3), 3).map(iso)).toEqual(
      [Date.UTC(2025, 9, 3, 15, 30), Date.UTC(2025, 9, 4, 15, 30), Date.UTC(2025, 9, 5, 15)].map(iso),
    );
  });

  it('fires a time of a 2-hour overlap once (Antarctica/Troll)', () => {
    // Troll falls back from 03:00 (+02) to 01:00 (+00) at 2025-10-26T01:00Z: 02:00 happens twice.
    expect(cronFires('0 2 * * *', 'Antarctica/Troll', Date.UTC(2025, 9, 24), 4).map(iso)).toEqual(
      [Date.UTC(2025, 9, 25), Date.UTC(2025, 9, 26), Date.UTC(2025, 9, 27, 2), Date.UTC(2025, 9, 28, 2)].map(iso),
    );
  });

  it('behaves in Paris as it did: a gap moves 02:30 to 03:30, an overlap fires a daily time once and a half-hourly cron on', () => {
    expect(cronFires('30 2 * * *', 'Europe/Paris', Date.UTC(2025, 2, 29), 3).map(iso)).toEqual(
      [Date.UTC(2025, 2, 29, 1, 30), Date.UTC(2025, 2, 30, 1, 30), Date.UTC(2025, 2, 31, 0, 30)].map(iso),
    );
    expect(cronFires('30 2 * * *', 'Europe/Paris', Date.UTC(2025, 9, 25), 3).map(iso)).toEqual(
      [Date.UTC(2025, 9, 25, 0, 30), Date.UTC(2025, 9, 26, 0, 30), Date.UTC(2025, 9, 27, 1, 30)].map(iso),
    );
    const after = Date.UTC(2025, 9, 25, 23, 30);
    expect(cronFires('*/30 * * * *', 'Europe/Paris', after, 6)).toEqual(
      [1, 2, 3, 4, 5, 6].map((k) => after + k * 30 * MINUTE),
    );
  });

  it('fires a wall time moved by a gap also when asked from just after the gap (Paris 02:30 is 03:30)', () => {
    // The chain computes its next fire times after its last slot; one inside the hour after the gap
    // must still see 02:30's fire at 03:30.
    expect(iso(cronFires('30 2 * * *', 'Europe/Paris', Date.UTC(2025, 2, 30, 1, 10), 1)[0])).toBe(
      iso(Date.UTC(2025, 2, 30, 1, 30)),
    );
  });

  it("checkCron passes a valid cron whatever the current date (boot inside Lord Howe's overlap)", () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2025, 3, 5, 14, 10));
    try {
      for (const cron of ['0 1 * * *', '15 1 * * *', '45 1 * * *', '*/5 * * * *']) {
        expect(() => checkCron('cron', cron, 'Australia/Lord_Howe')).not.toThrow();
      }
      expect(() => checkCron('cron', '0 0 30 2 *', 'Australia/Lord_Howe')).toThrow(InvalidOptionError);
    } finally {
      now.mockRestore();
    }
  });

  describe('every zone follows the rule at each of its 2025 transitions (and Apia 2011)', () => {
    // ICU lists some zones under an older name (America/Godthab for America/Nuuk).
    const named = ['America/Nuuk', 'Pacific/Chatham', 'Australia/Lord_Howe', 'Antarctica/Troll'];
    const transitions: Transition[] = [];
    beforeAll(() => {
      // Zones that change at the same instant between the same offsets behave alike: one of each.
      const seen = new Set<string>();
      for (const zone of [...named, ...Intl.supportedValuesOf('timeZone')]) {
        for (const t of transitionsIn(zone, Date.UTC(2025, 0, 1), Date.UTC(2026, 0, 1))) {
          if (seen.has(`${t.at}/${t.before}/${t.after}`)) continue;
          seen.add(`${t.at}/${t.before}/${t.after}`);
          transitions.push(t);
        }
      }
      transitions.push(...transitionsIn('Pacific/Apia', Date.UTC(2011, 11, 25), Date.UTC(2012, 0, 2)));
    });

    it('finds transitions of every kind to check', () => {
      const zonesOf = (pick: (t: Transition) => boolean) => new Set(transitions.filter(pick).map((t) => t.zone));
      expect(zonesOf((t) => t.after > t.before).size).toBeGreaterThan(20);
      expect(zonesOf((t) => t.after < t.before).size).toBeGreaterThan(20);
      for (const zone of named) expect(transitions.filter((t) => t.zone === zone)).toHaveLength(2);
      expect(transitions.filter((t) => t.zone === 'Pacific/Apia' && t.after - t.before === DAY)).toHaveLength(1);
    });

    it('daily crons around each gap and overlap, and quarter-hourly and hourly crons across it', () => {
      const wrong: string[] = [];
      for (const t of transitions) {
        const wall = walls(t.zone, t.at - 2 * DAY, t.at + 3 * DAY);
        // Wall times of day at and around the skipped or repeated span.
        const low = t.at + Math.min(t.before, t.after);
        const high = t.at + Math.max(t.before, t.after);
        const times = new Set([low - HOUR, low - QUARTER, low, (low + high) / 2, high - QUARTER, high, high + QUARTER]);
        const crons = ['*/15 * * * *', '0 * * * *'];
        for (const time of times) {
          const ofDay = (((time - (time % QUARTER)) % DAY) + DAY) % DAY;
          crons.push(`${(ofDay % HOUR) / MINUTE} ${Math.floor(ofDay / HOUR)} * * *`);
        }
        for (const cron of crons) {
          // From before the change, inside it, and just after it (a time a gap moved is still to come).
          const until = t.at + (cron.includes('* * * *') ? 3 * HOUR : DAY);
          for (const after of [t.at - 6 * HOUR, t.at - 30 * MINUTE, t.at + 10 * MINUTE]) {
            const expected = expectedFires(cron, wall, after).filter((ms) => ms <= until);
            let actual: string[];
            try {
              actual = cronFires(cron, t.zone, after, expected.length).map(iso);
            } catch (error) {
              actual = [(error as Error).message];
            }
            if (JSON.stringify(actual) !== JSON.stringify(expected.map(iso)))
              wrong.push(
                `${t.zone} '${cron}' after ${iso(after)}: ${actual.join(' ')} instead of ${expected.map(iso).join(' ')}`,
              );
          }
        }
      }
      expect(wrong.slice(0, 12)).toEqual([]);
    });
  });
});

interface Transition {
  zone: string;
  /** The instant of the change, and the zone's offsets (ms) before and after it. */
  at: number;
  before: number;
  after: number;
}

/** The zone's offset from UTC at `ms`, in ms (whole seconds). */
function offsetAt(zone: string, ms: number): number {
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
  const p = Object.fromEntries(format.formatToParts(ms).map((part) => [part.type, Number(part.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** The zone's changes of offset in [from, to), found week by week (none comes a week after another), then to the minute. */
function transitionsIn(zone: string, from: number, to: number): Transition[] {
  const found: Transition[] = [];
  for (let week = from; week < to; week += 7 * DAY) {
    const before = offsetAt(zone, week);
    const after = offsetAt(zone, week + 7 * DAY);
    if (before === after) continue;
    let low = week;
    let high = week + 7 * DAY;
    while (high - low > MINUTE) {
      const mid = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
      if (offsetAt(zone, mid) === before) low = mid;
      else high = mid;
    }
    // Only changes on quarter hours, which a 15-minute scan of wall times sees whole.
    if (before % QUARTER === 0 && after % QUARTER === 0 && high % QUARTER === 0)
      found.push({ zone, at: high, before, after });
  }
  return found;
}

/** The instants in [from, to) in quarter-hour steps, each with its wall time (as UTC ms). */
function walls(zone: string, from: number, to: number): { at: number; wall: number }[] {
  const list: { at: number; wall: number }[] = [];
  for (let at = from; at < to; at += QUARTER) list.push({ at, wall: at + offsetAt(zone, at) });
  return list;
}

/**
 * The rule, computed by brute force for crons of quarter-hour minutes: each matching wall time
 * fires at every instant showing it (a repeated one at the first only, unless the hour field is
 * `*`), and one no instant shows (a gap) at itself less the offset before the gap.
 */
function expectedFires(cron: string, scan: { at: number; wall: number }[], after: number): number[] {
  const [minute, hour] = cron.split(' ');
  const everyHour = hour === '*';
  const matches = (wall: number) => {
    const m = (wall % HOUR) / MINUTE;
    const h = Math.floor((wall % DAY) / HOUR);
    return (minute === '*/15' || Number(minute) === m) && (everyHour || Number(hour) === h);
  };
  const byWall = new Map<number, number[]>();
  for (const { at, wall } of scan) byWall.set(wall, [...(byWall.get(wall) ?? []), at]);
  const fires = new Set<number>();
  const first = scan[0].wall + DAY;
  const last = scan[scan.length - 1].wall - DAY;
  for (let wall = first; wall < last; wall += QUARTER) {
    if (!matches(wall)) continue;
    const instants = byWall.get(wall);
    if (instants) {
      for (const at of everyHour ? instants : instants.slice(0, 1)) fires.add(at);
      continue;
    }
    const before = scan.filter((s) => s.wall < wall).at(-1)!;
    fires.add(wall - (before.wall - before.at));
  }
  return [...fires].filter((ms) => ms > after).sort((a, b) => a - b);
}
