import { exhaust, SMALL_CASES } from '../../explore/exhaustive';
import { runSchedule, signature } from '../../explore/runner';
import { fixedSchedule, randomSchedule } from '../../explore/schedule';
import type { Step } from '../../explore/steps';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';

// The explorer's flow world on the suite's Redis: a task under globalConcurrency 2 and
// groupConcurrency 1, its slots taken by enqueue-flow.lua and promote.lua, released by every
// settle path and by remove, with flow control's invariants checked after every step.
describe('explorer: a task under flow control', () => {
  const env = useExploreEnv();

  it('a complete and a remove each release a slot and admit the next waiting task', async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' },
      { op: 'enqueue-flow', id: 't2', group: 'g1', priority: 1 }, // waits for g1's slot
      { op: 'enqueue-flow', id: 't3', group: 'g2' },
      { op: 'enqueue-flow', id: 't4', group: 'g3' }, // waits for a global slot
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task: 't1' },
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 }, // releases t1's slots: g3 comes first in the ring, t4 is admitted
      { op: 'remove', task: 't4' }, // never read: removed, its slots admit t2
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.flow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(0, 4).map((l) => l.note)).toEqual([
      'admitted',
      'waiting in the room',
      'admitted',
      'waiting in the room',
    ]);
    expect(result.lines[9].note).toBe('queued: removed');
    const drained = result.lines
      .filter((l) => l.drain && l.step.op === 'start')
      .map((l) => (l.step as { task: string }).task);
    expect(drained.sort()).toEqual(['t2', 't3']);
  });

  it('a remove of a task waiting in the room takes it out for good; its group and the ring go on without it', async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' },
      { op: 'enqueue-flow', id: 't2', group: 'g1', priority: 1 }, // waits for g1's slot, first in line
      { op: 'enqueue-flow', id: 't3', group: 'g1' }, // waits behind t2
      { op: 'enqueue-flow', id: 't4', group: 'g2' },
      { op: 'enqueue-flow', id: 't5', group: 'g3' }, // waits for a global slot: its pair's only task
      { op: 'remove', task: 't2' },
      { op: 'remove', task: 't5' },
      { op: 'remove', task: 't5' }, // gone already: nothing to do
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task: 't1' },
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 }, // g1's slot goes to t3, not to the removed t2; g3 has nothing left
      { op: 'enqueue-flow', id: 't6', group: 'g3' }, // waits for the global slot t3 took
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.flow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(5, 8).map((l) => l.note)).toEqual(['waiting: removed', 'waiting: removed', 'n/a']);
    const drained = result.lines
      .filter((l) => l.drain && l.step.op === 'start')
      .map((l) => (l.step as { task: string }).task);
    expect(drained.sort()).toEqual(['t3', 't4', 't6']);
  });

  it('a rolling deploy lowers groupConcurrency under held runs: no run is admitted until the group is below it', async () => {
    const wider = { global: 2, group: 2 }; // the old definition: two runs per group
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1', retuned: wider },
      { op: 'enqueue-flow', id: 't2', group: 'g1', retuned: wider },
      { op: 'enqueue-flow', id: 't3', group: 'g1' }, // the world's definition (1 per group) recorded: t3 waits
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task: 't1' },
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 }, // g1 still holds t2, its new limit: t3 must go on waiting
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.flow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(0, 3).map((l) => l.note)).toEqual([
      'admitted, limits 2/2 recorded',
      'admitted, limits 2/2 recorded',
      'waiting in the room',
    ]);
    const drained = result.lines
      .filter((l) => l.drain && l.step.op === 'start')
      .map((l) => (l.step as { task: string }).task);
    expect(drained).toContain('t3'); // admitted once t2 settled
  });

  it('a retry releases and re-enters admission when promoted; its last attempt dead-letters and releases', async () => {
    const run = (task: string, ok: boolean): Step[] => [
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task },
      { op: 'end', w: 0, task, ok },
      { op: 'settle', w: 0 },
    ];
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' },
      { op: 'enqueue-flow', id: 't2', group: 'g1' }, // waits for g1's slot
      ...run('t1', false), // retry: t1's slot goes to t2
      { op: 'promote' }, // t1 is due: g1 is full, it waits
      ...run('t2', true), // t2's slot goes to t1
      ...run('t1', false), // the last attempt
      { op: 'enqueue-flow', id: 't3', group: 'g1' }, // g1's slot is free again: admitted
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.flow);
    expect(result.violations.map(signature)).toEqual([]);
    const settles = result.lines.filter((l) => l.step.op === 'settle' && !l.drain).flatMap((l) => l.replies);
    expect(settles).toEqual(['fail -> retry-scheduled', 'complete -> [completed]', 'fail -> dead-lettered']);
    expect(result.lines[13].note).toBe('reply held: t1');
    expect(result.lines[steps.length - 1].note).toBe('admitted');
  });

  it('explores every schedule of the small flow case (depth 3) without a failure', async () => {
    const small = SMALL_CASES.find((c) => c.name === 'flow')!;
    const { ran, failures } = await exhaust(env(), small, 3, Number.POSITIVE_INFINITY, new Set());
    expect([...failures.keys()]).toEqual([]);
    expect(ran).toBe(247); // every schedule, however long a loaded machine takes
  }, 300_000);

  it('two tasks in one ring: the settles of one park and serve the other’s groups that wait for its slot', async () => {
    // job has globalConcurrency 1; rush has no global limit and groupConcurrency 1.
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' }, // job's only slot
      { op: 'enqueue-flow', id: 't2', group: 'g2' }, // waits for job's slot, its pair in the ring
      { op: 'enqueue-flow', id: 't3', group: 'g3' }, // the same
      { op: 'enqueue-flow', id: 't4', group: 'g1', task: 'other' }, // admitted
      { op: 'enqueue-flow', id: 't5', group: 'g1', task: 'other' }, // waits for rush/g1: feeds, parks job's pairs
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task: 't4' },
      { op: 'end', w: 0, task: 't4', ok: true },
      { op: 'settle', w: 0 }, // rush's settle admits t5 and passes over none of job's pairs
      { op: 'start', w: 0, task: 't1' },
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 }, // job's slot goes to the first parked pair: t2
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.mixed);
    expect(result.violations.map(signature)).toEqual([]);
    const notes = result.lines.slice(0, steps.length).map((l) => l.note);
    expect(notes.slice(0, 5)).toEqual([
      'admitted',
      'waiting in the room',
      'waiting in the room',
      'admitted',
      'waiting in the room',
    ]);
    // The two settles admitted t5 (rush/g1's slot) and t2 (job's slot, to the first parked pair):
    // the drain reads them together, then t3 once t2 settles.
    const reads = result.lines.filter((l) => l.drain && l.step.op === 'read').map((l) => l.note);
    expect(reads.slice(0, 2)).toEqual(['reply held: t5 t2', 'reply held: t3']);
  });

  it('random schedules reach the mixed world (two tasks) and keep its invariants', async () => {
    let others = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const result = await runSchedule(env(), randomSchedule(seed, { steps: 30, maxTasks: 6 }), WORLDS.mixed);
      expect({ seed, violations: result.violations.map(signature) }).toEqual({ seed, violations: [] });
      others += result.steps.filter((s) => s.op === 'enqueue-flow' && s.task === 'other').length;
    }
    expect(others).toBeGreaterThan(5);
  });

  it('random schedules reach the flow world and keep its invariants', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runSchedule(env(), randomSchedule(seed, { steps: 30, maxTasks: 6 }), WORLDS.flow);
      expect({ seed, violations: result.violations.map(signature) }).toEqual({ seed, violations: [] });
      expect(result.steps.some((s) => s.op === 'enqueue-flow')).toBe(true);
    }
  });
});
