import { settledTickSuccessor } from '../fixtures/periodic-successor';
import { cronFires } from '../../lib/task/schedule';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/**
 * Standard cron (Vixie cron, cronie, the BSDs) matches a day by day of month OR day of week only
 * when both fields are restricted; a field that starts with `*` (`*`, `*\/2`) leaves the other one
 * alone to decide, so both must match: `0 9 *\/2 * 1` is 9:00 on Mondays that are odd days of the
 * month. cron-parser treats only a bare `*` (or `?`) so, and ran that cron on every odd day and
 * every Monday: about 19 times a month where crontab runs it about twice, and `0 0 *\/1 * 1` (every
 * day that is a Monday) every day. A review finding; the spec failed.
 */
describe('attack: a day field that starts with * under a restricted other one', () => {
  const redis = createRedis();
  let prefix = '';
  beforeEach(() => (prefix = randomPrefix()));
  afterEach(() => cleanupPrefix(redis, prefix));
  afterAll(closeAll);

  const day = (t: number) => new Date(t).toISOString().slice(0, 16);

  it('a settled run of `0 9 */2 * 1` schedules the next Monday that is an odd day, not the next odd day', async () => {
    // Tuesday 1 January 2030: the 3rd is odd (a Thursday), the 7th is odd and a Monday.
    const slot = Date.UTC(2030, 0, 1, 9);
    const next = await settledTickSuccessor(redis, prefix, { cron: '0 9 */2 * 1', timezone: undefined }, slot);
    expect(day(next)).toBe('2030-01-07T09:00');
  });

  it.each([
    // both restricted, neither starts with *: either field matches (unchanged)
    ['0 0 1,15 * 1', ['2026-01-05T00:00', '2026-01-12T00:00', '2026-01-15T00:00', '2026-01-19T00:00']],
    // a star-step day of month: both must match (Mondays on odd days)
    ['0 0 */2 * 1', ['2026-01-05T00:00', '2026-01-19T00:00', '2026-02-09T00:00', '2026-02-23T00:00']],
    ['0 0 */1 * 1', ['2026-01-05T00:00', '2026-01-12T00:00', '2026-01-19T00:00', '2026-01-26T00:00']],
    // a star-step day of week: the 1st of a month that is a Sunday, Wednesday or Saturday
    ['0 0 1 * */3', ['2026-02-01T00:00', '2026-03-01T00:00', '2026-04-01T00:00', '2026-07-01T00:00']],
    // seconds field, minute-granular: every minute of such a day, none of the others
    ['0 * * */2 * 1', ['2026-01-05T00:00', '2026-01-05T00:01', '2026-01-05T00:02', '2026-01-05T00:03']],
    // a single field that starts with * alone is what it was
    ['0 0 */10 * *', ['2026-01-11T00:00', '2026-01-21T00:00', '2026-01-31T00:00', '2026-02-01T00:00']],
  ])('cronFires(%p) in UTC from 1 January 2026', (cron, expected) => {
    expect(cronFires(cron, undefined, Date.UTC(2026, 0, 1), 4).map(day)).toEqual(expected);
  });

  it('in a zone, across its fall-back day: 8:30 local on Mondays that are odd days', () => {
    // New York falls back on Sunday 1 November 2026 (EDT, UTC-4, to EST, UTC-5): of its Mondays
    // 5, 12, 19, 26 October, 2 and 9 November, the odd days are 5 and 19 October and 9 November.
    const fires = cronFires('30 8 */2 * 1', 'America/New_York', Date.UTC(2026, 9, 1), 3).map(day);
    expect(fires).toEqual(['2026-10-05T12:30', '2026-10-19T12:30', '2026-11-09T13:30']);
  });

  it('a fire a daylight-saving gap moves keeps its day', () => {
    // New York springs forward on Sunday 9 March 2025 (2:00 EST to 3:00 EDT): 2:30 is not a time
    // that day, and runs at 3:30 EDT as `30 2 * * 0` does; the next odd Sunday is the 23rd.
    const fires = cronFires('30 2 */2 * 0', 'America/New_York', Date.UTC(2025, 2, 1), 2).map(day);
    expect(fires).toEqual(['2025-03-09T07:30', '2025-03-23T06:30']);
    expect(cronFires('30 2 * * 0', 'America/New_York', Date.UTC(2025, 2, 8), 1).map(day)).toEqual(['2025-03-09T07:30']);
  });
});
