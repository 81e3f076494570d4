import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cronFires } from '../../lib/task/schedule';

const HOUR = 3_600_000;

// Issue 15 item 8: a cron without `timezone` was evaluated in each worker's process zone, so a
// fleet with mixed zones alternated between slots. It is now evaluated in UTC everywhere.
describe('cronFires', () => {
  /** The first two fire times of an hourly cron without `timezone`, computed by a process in `zone`. */
  function hourlyFiresIn(zone: string): number[] {
    // Jest's process.env is a copy: the zone must be set for a process of its own.
    const script = `const { cronFires } = require('./lib/task/schedule');
      process.stdout.write(JSON.stringify(cronFires('0 * * * *', undefined, Date.UTC(2026, 0, 1, 10, 15), 2)));`;
    const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      env: { ...process.env, TZ: zone },
    });
    return JSON.parse(out.toString()) as number[];
  }

  it.each(['Asia/Kolkata', 'America/St_Johns', 'UTC'])(
    'without a timezone, fires on the UTC hour whatever the process zone (%s)',
    (zone) => {
      expect(hourlyFiresIn(zone)).toEqual([Date.UTC(2026, 0, 1, 11), Date.UTC(2026, 0, 1, 12)]);
    },
  );

  it('with a timezone, fires in that zone: 08:00 in Kolkata is 02:30 UTC', () => {
    const [first] = cronFires('0 8 * * *', 'Asia/Kolkata', Date.UTC(2026, 0, 1));
    expect(first).toBe(Date.UTC(2026, 0, 1, 2, 30));
    expect(first % HOUR).toBe(HOUR / 2);
  });

  it('gives the next 16 fire times strictly after the given instant, from it alone', () => {
    const after = Date.UTC(2026, 0, 1, 0, 0, 0);
    const fires = cronFires('*/5 * * * *', undefined, after);
    expect(fires).toHaveLength(16);
    expect(fires[0]).toBe(after + 5 * 60_000);
    expect(fires.at(-1)).toBe(after + 16 * 5 * 60_000);
  });
});
