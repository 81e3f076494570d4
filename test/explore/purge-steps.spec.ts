import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSchedule, signature, type NextStep } from '../../explore/runner';
import { fixedSchedule } from '../../explore/schedule';
import type { KeyedAnswer, Step } from '../../explore/steps';
import { strandedRunTakenOver } from '../../explore/stranded-invariants';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';

/** k1's run t1 running on w0. */
const RUNNING: Step[] = [
  { op: 'enqueue', kind: 'keyed', id: 't1', key: 'k1' },
  { op: 'read', w: 0 },
  { op: 'deliver', w: 0 },
  { op: 'start', w: 0, task: 't1' },
];

/** k1's stranded run judged after `steps`, as if an enqueue had answered `created` (or not). */
function judgedAfter(steps: Step[]): { next: NextStep; tags: (created: boolean) => string[] } {
  const fixed = fixedSchedule(steps);
  const tags = new Map<boolean, string[]>();
  const answer = (created: boolean): KeyedAnswer => ({ key: 'k1', partition: 0, mode: 'add', created, probe: false });
  return {
    next: (world, index) => {
      // Before the drain, on the world as the last step left it.
      if (index === steps.length)
        for (const created of [true, false])
          tags.set(
            created,
            strandedRunTakenOver(world, world.snapshots, world.snapshots, {
              applied: true,
              note: '',
              keyed: answer(created),
            }).map((v) => v.tag),
          );
      return fixed(world, index);
    },
    tags: (created) => tags.get(created)!,
  };
}

// An operator's purge of a queue's stream in the explorer: a DEL (the group made again), a trim of
// every entry, an XDEL of one. A keyed run running then is stranded: includes/stranded-run.lua
// judges it by the lease it was claimed under, and strandedRunTakenOver holds the judge to the
// README (Keys: a stranded run).
describe('explorer: a purged stream strands a keyed run', () => {
  const env = useExploreEnv();

  it('its live worker holding the lease keeps the key: an enqueue returns the run, a replace waits for its end', async () => {
    const steps: Step[] = [
      ...RUNNING,
      { op: 'purge', what: 'stream' },
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k1' },
      { op: 'enqueue', kind: 'keyed', id: 't3', key: 'k1', replace: true },
      { op: 'read', w: 1 },
      { op: 'deliver', w: 1 }, // claim.lua defers t3 behind t1, held by w0
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 }, // superseded by t3: writes nothing
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.classic);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(4, 8).map((l) => l.note)).toEqual([
      'stream deleted: 1 entries, unsettled [t1]',
      'existing t1 (gen 1)',
      't3 gen 3',
      'reply held: t3',
    ]);
    expect(result.lines[8].note).toBe('admitted [] skipped [t3]');
    expect(result.lines.filter((l) => l.drain && l.step.op === 'start').map((l) => l.note)).toEqual([
      'handler started',
    ]);
  });

  it('its worker lapsed: the next enqueue makes a new run, and the old run settles as stale', async () => {
    const steps: Step[] = [
      ...RUNNING,
      { op: 'purge', what: 'trim' },
      { op: 'lapse', w: 0 },
      { op: 'heartbeat', w: 0 }, // its key back, with another value
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k1' },
      { op: 'end', w: 0, task: 't1', ok: true },
      { op: 'settle', w: 0 },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.classic);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines[7].note).toMatch(/^t2 gen \d+$/);
  });

  it('a keyed run not started under an unconfirmed lease is given up: the next beat writes a new value', async () => {
    const steps: Step[] = [
      { op: 'enqueue', kind: 'keyed', id: 't1', key: 'k1' },
      { op: 'read', w: 0 },
      { op: 'notice', w: 0 }, // nothing keyed in flight: no renewal asked yet
      { op: 'deliver', w: 0 }, // claimed under the current value
      { op: 'start', w: 0, task: 't1' }, // not started: keyedRunUnstarted asks a new value
      { op: 'purge', what: 'entry', task: 't1' },
      { op: 'heartbeat', w: 0 },
      { op: 'enqueue', kind: 'keyed', id: 't2', key: 'k1' },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.classic);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines[4].note).toBe('not started (lease not held): left pending');
    expect(result.lines[7].note).toMatch(/^t2 gen \d+$/);
  });

  it('judges an enqueue that would keep a lapsed run, or take a live one', async () => {
    const lapsed = judgedAfter([...RUNNING, { op: 'purge', what: 'entry', task: 't1' }, { op: 'lapse', w: 0 }]);
    await runSchedule(env(), lapsed.next, WORLDS.classic);
    expect(lapsed.tags(false)).toEqual(['held-after-lapse']);
    expect(lapsed.tags(true)).toEqual([]);
    const live = judgedAfter([...RUNNING, { op: 'purge', what: 'stream' }]);
    await runSchedule(env(), live.next, WORLDS.classic);
    expect(live.tags(true)).toEqual(['taken-from-live']);
    expect(live.tags(false)).toEqual([]);
  });

  const traceSteps = (file: string) =>
    (JSON.parse(readFileSync(join(__dirname, '../../explore/traces', file), 'utf8')) as { steps: Step[] }).steps;

  it.each([
    // A cancel ends a stranded run whose worker died.
    'cancel-stranded-run-dead-owner.json',
    // A sweep ends one a cancel left to its live worker, which died before its settle.
    'cancel-stranded-run-owner-dies-after.json',
  ])('%s passes', async (file) => {
    const result = await runSchedule(env(), fixedSchedule(traceSteps(file)), WORLDS.classic);
    expect(result.violations.map(signature)).toEqual([]);
  });

  it('a keyed claim between a lapse write and its reply writes nothing: the purged run is replaced', async () => {
    const result = await runSchedule(
      env(),
      fixedSchedule(traceSteps('lapse-rewrite-strands-claim.json')),
      WORLDS.classic,
    );
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines[4].note).toBe('admitted [] skipped [t1]');
    expect(result.lines.some((l) => /^t2 gen \d+$/.test(l.note))).toBe(true);
  });
});
