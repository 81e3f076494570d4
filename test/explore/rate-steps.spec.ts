import { exhaust, SMALL_CASES } from '../../explore/exhaustive';
import { runSchedule, signature } from '../../explore/runner';
import { fixedSchedule, randomSchedule } from '../../explore/schedule';
import type { Step } from '../../explore/steps';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';

// The explorer's rate world on the suite's Redis: a task under rateLimit 2 and groupRateLimit 1
// (besides its slots), tokens taken at admission and turned into start records by claim.lua,
// restarts needing a free token, time passing only by the step `elapse`, with the rate
// invariants checked after every step.
describe('explorer: a task under rate limits', () => {
  const env = useExploreEnv();
  const opening: Step[] = [
    { op: 'enqueue-flow', id: 't1', group: 'g1' },
    { op: 'enqueue-flow', id: 't2', group: 'g1' }, // waits for g1's slot and token
    { op: 'enqueue-flow', id: 't3', group: 'g2' },
    { op: 'enqueue-flow', id: 't4', group: 'g3' }, // waits for the task window: t1 and t3 hold it
  ];

  it('a restart of a reclaimed run waits for a token until time frees one, then starts', async () => {
    const steps: Step[] = [
      ...opening,
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 }, // claims t1 and t3: their markers become start records
      { op: 'start', w: 0, task: 't1' },
      { op: 'lapse', w: 0 },
      { op: 'reclaim', w: 1, judge: 'dead' }, // restarts: the task window is full
      { op: 'start', w: 1, task: 't1' },
      { op: 'elapse' }, // the group windows empty; the task window (twice as long) does not
      { op: 'start', w: 1, task: 't1' },
      { op: 'elapse' },
      { op: 'start', w: 1, task: 't1' },
      // t4's wake is due: t1's restart took one token, and t3's restart (held too, reclaimed with
      // t1) reserved the other when it was told to wait: t4 waits behind it.
      { op: 'promote' },
      { op: 'start', w: 1, task: 't3' },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.rate);
    expect(result.violations.map(signature)).toEqual([]);
    const notes = result.lines.slice(0, steps.length).map((l) => l.note);
    expect(notes.slice(0, 4)).toEqual(['admitted', 'waiting in the room', 'admitted', 'waiting in the room']);
    expect(notes[8]).toMatch(/admitted \[t1 \(waits for a token\) t3 \(waits for a token\)\]/);
    // The restart's claims: the group windows' records leave after one elapse, the task window's
    // (t1's first start, and t3's, whose claim counts though its run never started) after two.
    expect(notes.slice(9, 14)).toEqual([
      'claimed again: still waits for a rate token',
      '4 start record(s), 3 wake(s) moved back',
      'claimed again: still waits for a rate token',
      '3 start record(s), 3 wake(s) moved back',
      'handler started',
    ]);
    expect(notes[14]).toBe('moved 0');
    expect(notes[15]).toBe('handler started');
  });

  it('a held restart keeps the token it waits for: the promotion that serves the freed window does not take it', async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' },
      { op: 'enqueue-flow', id: 't3', group: 'g2' }, // t1 and t3 take the task window's 2 tokens
      { op: 'enqueue-flow', id: 't4', group: 'g3' }, // waits for the task window
      { op: 'enqueue-flow', id: 't5', group: 'g2' }, // waits for g2's slot
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'start', w: 0, task: 't1' },
      { op: 'start', w: 0, task: 't3' },
      { op: 'end', w: 0, task: 't3', ok: true },
      { op: 'settle', w: 0 }, // g2's slot frees: t5 now waits for the task window too
      { op: 'lapse', w: 0 },
      { op: 'reclaim', w: 1, judge: 'dead' }, // t1's restart: both its windows are full, it waits
      { op: 'elapse' },
      { op: 'elapse' }, // every window is empty: 2 task tokens, t4 and t5 waiting, t1 held
      { op: 'promote' }, // before its timer fires, the wakes are served
      { op: 'start', w: 1, task: 't1' },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.rate);
    expect(result.violations.map(signature)).toEqual([]);
    const notes = result.lines.slice(0, steps.length).map((l) => l.note);
    expect(notes[11]).toMatch(/admitted \[t1 \(waits for a token\)\]/);
    // Without the reservation, the promotion admitted t4 and t5 into the two free tokens, and the
    // restart waited again (a steady flood of waiting tasks kept it waiting for good).
    expect(notes[15]).toBe('handler started');
  });

  it('a removal gives its token back and admits the task waiting for it', async () => {
    const steps: Step[] = [...opening, { op: 'remove', task: 't3' }];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.rate);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines[4].note).toBe('queued: removed');
    const drained = result.lines.filter((l) => l.drain && l.step.op === 'start' && l.note === 'handler started');
    expect(drained.map((l) => (l.step as { task: string }).task).sort()).toEqual(['t1', 't2', 't4']);
  });

  // About 15 s alone; the budgets leave room for a loaded machine (the whole suite in parallel).
  it('explores every schedule of the small rate case (depth 3) without a failure', async () => {
    const small = SMALL_CASES.find((c) => c.name === 'rate')!;
    const { ran, failures } = await exhaust(env(), small, 3, Number.POSITIVE_INFINITY, new Set());
    expect([...failures.keys()]).toEqual([]);
    // Every schedule, however long a loaded machine takes. (434 before a window full of marks only stopped
    // waking every perMs: a promote after one elapse now finds nothing due there, and a step
    // that does not apply ends its branch.)
    expect(ran).toBe(420);
  }, 300_000);

  it('random schedules reach the rate world and keep its invariants', async () => {
    const notes: string[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const result = await runSchedule(env(), randomSchedule(seed, { steps: 30, maxTasks: 6 }), WORLDS.rate);
      expect({ seed, violations: result.violations.map(signature) }).toEqual({ seed, violations: [] });
      notes.push(...result.lines.filter((l) => l.applied).map((l) => `${l.step.op}: ${l.note}`));
    }
    // Time passed, and some claim (in the schedules or their drains) made a run wait for a token.
    expect(notes.some((n) => n.startsWith('elapse:'))).toBe(true);
    expect(notes.some((n) => n.includes('waits for a token'))).toBe(true);
  });
});
