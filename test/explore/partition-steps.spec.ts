import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exhaust, SMALL_CASES } from '../../explore/exhaustive';
import { runSchedule, signature } from '../../explore/runner';
import { fixedSchedule } from '../../explore/schedule';
import type { Step } from '../../explore/steps';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';

/** The operator's six layout.lua calls of 2 -> 3: freeze p0 p1 p2, commit p2 p1 p0. */
const COUNT_CHANGE: Step[] = Array.from({ length: 6 }, (): Step => ({ op: 'layout' }));

// The explorer's partition steps on the suite's Redis: the operator's count change, writes from
// a process with the old count (stale) and one with the new (fresh), and the invariants they face.
describe('explorer: partitioned queue whose count changes', () => {
  const env = useExploreEnv();

  it('refuses a stale keyed enqueue after the change, so a key stays live in one partition', async () => {
    // k1 is partition 1 under 2 partitions and partition 0 under 3: a stale write would split it.
    const steps: Step[] = [
      ...COUNT_CHANGE,
      { op: 'enqueue', kind: 'keyed', id: 't1', key: 'k1', by: 'fresh' },
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k1', by: 'stale', replace: true },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.grow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.countChanged).toBe(true);
    expect(result.lines[6].note).toBe('t1 gen 1 in p0');
    expect(result.lines[7].note).toMatch(/^refused in p1: PartitionLayoutError \(stored 3, caller 2\)/);
  });

  it('lets the change commit only once the queue is empty, and thaws a failed attempt', async () => {
    const steps: Step[] = [
      { op: 'enqueue', kind: 'keyed', id: 't1', key: 'k3' }, // partition 1 under 2
      { op: 'layout' }, // freeze p0: done
      { op: 'layout' }, // freeze p1: not-empty
      { op: 'layout' }, // thaw p0
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k2' }, // accepted again: p0 thawed
      { op: 'read', w: 2 },
      { op: 'deliver', w: 2 },
      { op: 'start', w: 2, task: 't1' },
      { op: 'end', w: 2, task: 't1', ok: true },
      { op: 'settle', w: 2 },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.grow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(1, 5).map((l) => l.note)).toEqual([
      'freeze p0: done (record 2>3)',
      'freeze p1: not-empty (record 2)',
      'thaw p0: done (record 2)',
      't2 gen 1 in p0',
    ]);
  });

  it('retries a stale cancel after a count change under the stored count (the explorer found it answering "nothing live" beside a live run)', async () => {
    const trace = JSON.parse(
      readFileSync(join(__dirname, '../../explore/traces/stale-cancel-refused.json'), 'utf8'),
    ) as { steps: Step[] };
    const result = await runSchedule(env(), fixedSchedule(trace.steps), WORLDS.grow);
    expect(result.violations.map(signature)).toEqual([]);
    const cancel = result.lines.find((line) => line.step.op === 'cancel');
    // Refused in p1 under the old count, then run where the stored count maps k1: its live run ends.
    expect(cancel?.note).toBe('cancelled in p0 (retried under the stored count)');
  });

  it('refuses a stale cancel while the change is under way: no count to retry under', async () => {
    const steps: Step[] = [
      { op: 'layout' }, // freeze p0
      { op: 'layout' }, // freeze p1
      { op: 'cancel', key: 'k1', by: 'stale' }, // partition 1 under 2
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.grow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines[2].note).toBe('refused in p1: PartitionLayoutError (stored 2>3, caller 2)');
  });

  it('explores every interleaving of the commits with stale and fresh writes (depth 2) without a new failure', async () => {
    const small = SMALL_CASES.find((c) => c.name === 'count-change')!;
    const { ran, failures } = await exhaust(env(), small, 2, Number.POSITIVE_INFINITY, new Set());
    expect([...failures.keys()]).toEqual([]);
    expect(ran).toBe(30); // 5 steps, then 5 after each: every schedule
  });
});
