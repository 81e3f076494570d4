import type { FlowView } from '../../explore/flow-snapshot';
import { runSchedule, signature } from '../../explore/runner';
import { fixedSchedule } from '../../explore/schedule';
import { globalSharesHeld, rateSharesTaken } from '../../explore/share-invariants';
import type { Snapshot } from '../../explore/snapshot';
import type { Step, StepResult } from '../../explore/steps';
import { World } from '../../explore/world';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';
import { flowView } from '../fixtures/flow-view';

// The explorer's shares world on the suite's Redis: globalConcurrency 3 and rateLimit 3 on a
// queue of 2 partitions, shares 2 (p0) and 1 (p1); g1 maps to p0, g2 and g6 to p1.
describe('explorer: a task’s own limits shared out over partitions', () => {
  const env = useExploreEnv();
  const world = WORLDS.shares;

  it('admits each partition up to its share: ungrouped tasks go to the turn, groups to theirs', async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g2' }, // p1: its one slot
      { op: 'enqueue-flow', id: 't2', group: '', p: 1 }, // p1 is full: waits
      { op: 'enqueue-flow', id: 't3', group: 'g1' }, // p0: one of two
      { op: 'enqueue-flow', id: 't4', group: '', p: 0 }, // p0: two of two
      { op: 'enqueue-flow', id: 't5', group: '', p: 0 }, // p0 is full: waits, though the fleet holds 3
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), world);
    expect(result.violations.map(signature)).toEqual([]);
    const notes = result.lines.filter((l) => !l.drain).map((l) => l.note);
    expect(notes).toEqual([
      'admitted in p1',
      'waiting in the room in p1',
      'admitted in p0',
      'admitted in p0',
      'waiting in the room in p0',
    ]);
    // Every task ran in the drain: nothing lost.
    expect(result.lines.filter((l) => l.drain && l.step.op === 'start').length).toBe(5);
  });

  // The checks themselves, on snapshots made by hand: each must see what it guards.
  describe('its invariants', () => {
    const fake = Object.assign(Object.create(World.prototype) as World, {
      shape: world,
      parts: [{}, {}],
      countChange: undefined,
      alias: (id: string) => id,
      rates: { startsOf: () => [], nowOf: (v: { now: number }) => v.now },
    });
    const flow = flowView;
    const snap = (f: FlowView): Snapshot => ({ flow: f }) as unknown as Snapshot;
    const holding = (...ids: string[]) =>
      flow({ held: new Map(ids.map((id) => [id, { entryId: `${id}-0`, name: 'job', group: '' }])) });
    const none = {} as StepResult;

    it('sees a partition over its share of the slots, and the fleet over the whole limit', () => {
      expect(globalSharesHeld(fake, [holding('t1', 't2'), holding('t3')].map(snap), undefined, none)).toEqual([]);
      expect(
        globalSharesHeld(fake, [holding('t1'), holding('t2', 't3')].map(snap), undefined, none).map(signature),
      ).toEqual(['globalSharesHeld[partition]']);
      expect(
        globalSharesHeld(fake, [holding('t1', 't2', 't3'), holding('t4')].map(snap), undefined, none).map(signature),
      ).toEqual(['globalSharesHeld[partition]', 'globalSharesHeld[fleet]']);
    });

    it('sees a partition over its share of the tokens', () => {
      const marked = (...entries: string[]) =>
        flow({
          rate: {
            records: [],
            markers: entries.map((entryId) => ({ window: 't\0job', entryId })),
            reservations: [],
            wakes: new Map(),
            now: 1_000,
          },
        });
      expect(rateSharesTaken(fake, [marked('1-0', '2-0'), marked('3-0')].map(snap), undefined, none)).toEqual([]);
      expect(
        rateSharesTaken(fake, [marked('1-0'), marked('2-0', '3-0')].map(snap), undefined, none).map(signature),
      ).toEqual(['rateSharesTaken[partition]']);
    });
  });
});
