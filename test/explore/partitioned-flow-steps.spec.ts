import type { FlowView } from '../../explore/flow-snapshot';
import {
  countChangeWaitsForFlow,
  flowGroupInOnePartition,
  flowGroupLimitAcrossPartitions,
} from '../../explore/partitioned-flow-invariants';
import { runSchedule, signature } from '../../explore/runner';
import { fixedSchedule } from '../../explore/schedule';
import type { Snapshot } from '../../explore/snapshot';
import type { Step, StepResult } from '../../explore/steps';
import type { World } from '../../explore/world';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';
import { flowView } from '../fixtures/flow-view';

// The explorer's flow-partitioned world on the suite's Redis: groupConcurrency 1 and
// groupRateLimit 1 on a queue of 2 partitions changed to 3 (g1 0 -> 2, g2 1 -> 0, g6 1 -> 1).
describe('explorer: flow control on a partitioned queue whose count changes', () => {
  const env = useExploreEnv();
  const world = WORLDS['flow-partitioned'];

  it("holds the count change while a settled run's rate token is in its window, then moves the group", async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g2' }, // stale (2 partitions): p1
      { op: 'read', w: 2 },
      { op: 'deliver', w: 2 },
      { op: 'start', w: 2, task: 't1' },
      { op: 'end', w: 2, task: 't1', ok: true },
      { op: 'settle', w: 2 }, // p1's stream is empty; g2's start is still in its window
      { op: 'layout' }, // freeze p0: done
      { op: 'layout' }, // freeze p1: refused, the token
      { op: 'layout' }, // thaw p0
      { op: 'elapse' }, // the token leaves its window
      ...Array.from({ length: 6 }, (): Step => ({ op: 'layout' })), // freeze 0 1 2, commit 2 1 0
      { op: 'enqueue-flow', id: 't2', group: 'g2', by: 'fresh' }, // 3 partitions: p0
      { op: 'enqueue-flow', id: 't3', group: 'g2' }, // a stale producer: refused
      { op: 'enqueue', kind: 'plain', id: 't4', p: 1, by: 'fresh' }, // the ungrouped group's partition under 3
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), world);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.countChanged).toBe(true);
    const notes = result.lines.filter((l) => !l.drain).map((l) => l.note);
    expect(notes[0]).toBe('admitted in p1');
    expect(notes.slice(6, 9)).toEqual([
      'freeze p0: done (record 2>3)',
      'freeze p1: not-empty (record 2)',
      'thaw p0: done (record 2)',
    ]);
    expect(notes[16]).toBe('admitted in p0');
    expect(notes[17]).toMatch(/^refused in p1: PartitionLayoutError \(stored 3, caller 2\)/);
    // p1's workers still map 2 partitions, where the ungrouped group is p0's: they dead-letter
    // t4 rather than run it outside its group's count; nothing is lost (no violation).
    const t4 = result.lines.find((l) => l.drain && l.step.op === 'deliver' && l.note.includes('skipped [t4]'));
    expect(t4?.replies).toEqual(['dead-letter -> dead-lettered']);
  });

  it('admits a plain entry of the limited task in its ungrouped partition and dead-letters one elsewhere', async () => {
    const steps: Step[] = [
      { op: 'enqueue', kind: 'plain', id: 't1', p: 0 }, // '' maps to p0 under 2: moved into admission
      { op: 'enqueue', kind: 'plain', id: 't2', p: 1 }, // a stray: dead-lettered, saying why
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 },
      { op: 'read', w: 2 },
      { op: 'deliver', w: 2 },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), world);
    expect(result.violations.map(signature)).toEqual([]);
    const notes = result.lines.filter((l) => !l.drain).map((l) => l.note);
    expect(notes[3]).toBe('admitted [] skipped [t1]');
    expect(result.lines[3].replies.join(' ')).toMatch(/^enter-admission -> \[1,/);
    expect(notes[5]).toBe('admitted [] skipped [t2]');
    expect(result.lines[5].replies.join(' ')).toBe('dead-letter -> dead-lettered');
    // t1 runs once admitted (its new entry holds the ungrouped group's slot in p0).
    const started = result.lines.filter((l) => l.drain && l.step.op === 'start').map((l) => l.note);
    expect(started).toEqual(['handler started']);
  });

  it('a dead letter holds the count change back until the operator purges it', async () => {
    const steps: Step[] = [
      { op: 'enqueue', kind: 'plain', id: 't1', p: 1 }, // a stray: dead-lettered in p1
      { op: 'read', w: 2 },
      { op: 'deliver', w: 2 },
      { op: 'layout' }, // freeze p0: done
      { op: 'layout' }, // freeze p1: refused, the dead letter
      { op: 'layout' }, // thaw p0
      { op: 'purge', what: 'dead-letters', p: 1 },
      ...Array.from({ length: 6 }, (): Step => ({ op: 'layout' })),
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), world);
    expect(result.violations.map(signature)).toEqual([]);
    const notes = result.lines.filter((l) => !l.drain).map((l) => l.note);
    expect(notes[4]).toBe('freeze p1: not-empty (record 2)');
    expect(notes[6]).toBe('dead letters purged in p1: 1');
    expect(result.countChanged).toBe(true);
  });

  // The checks themselves, on snapshots made by hand: each must see what it guards.
  describe('its invariants', () => {
    const fake = { shape: world, alias: (id: string) => id, workers: [] } as unknown as World;
    const flow = (over: Partial<FlowView> = {}): FlowView =>
      flowView({ limits: new Map([['job', { global: 0, group: 1 }]]), ...over });
    const snap = (f: FlowView, layout = '2'): Snapshot =>
      ({ stream: new Map(), pending: new Map(), delayed: new Map(), layout, flow: f }) as unknown as Snapshot;
    const slot = (entryId: string, group: string) => ({ entryId, name: 'job', group });
    const none = {} as StepResult;

    it('sees a group holding slots in two partitions, over its limit counted over both', () => {
      const before = [snap(flow()), snap(flow({ held: new Map([['t1', slot('1-0', 'g1')]]) }))];
      const after = [
        snap(flow({ held: new Map([['t2', slot('1-0', 'g1')]]) })),
        snap(flow({ held: new Map([['t1', slot('1-0', 'g1')]]) })),
      ];
      expect(flowGroupInOnePartition(fake, after, before, none).map(signature)).toEqual([
        'flowGroupInOnePartition[split]',
      ]);
      expect(flowGroupLimitAcrossPartitions(fake, after, before, none).map(signature)).toEqual([
        'flowGroupLimitAcrossPartitions[group]',
      ]);
      const apart = [snap(flow({ held: new Map([['t2', slot('1-0', 'g2')]]) })), after[1]];
      expect(flowGroupInOnePartition(fake, apart, before, none)).toEqual([]);
      expect(flowGroupLimitAcrossPartitions(fake, apart, before, none)).toEqual([]);
    });

    it('sees a freeze done over a rate token in its window, and a frozen partition holding a waiting task', () => {
      const token = flow({
        rate: {
          records: [{ window: 'g\0job\0g1', at: 900, entryId: '1-0', delivery: '1' }],
          markers: [],
          reservations: [],
          wakes: new Map(),
          now: 1_000,
        },
      });
      const froze = { froze: 0 } as StepResult;
      expect(
        countChangeWaitsForFlow(fake, [snap(token, '2>3'), snap(flow())], [snap(token), snap(flow())], froze).map(
          signature,
        ),
      ).toEqual(['countChangeWaitsForFlow[freeze]', 'countChangeWaitsForFlow[frozen]']);
      // The same start once its window passed holds nothing.
      const old = flow({ rate: { ...token.rate, now: 1_000 + world.flow!.groupRate!.perMs } });
      expect(countChangeWaitsForFlow(fake, [snap(old, '2>3'), snap(flow())], [snap(old), snap(flow())], froze)).toEqual(
        [],
      );
      const waiting = flow({ room: [{ id: 't3', name: 'job', group: 'g6', prefix: 'job\0g6\0x' }] });
      expect(
        countChangeWaitsForFlow(fake, [snap(flow()), snap(waiting, '2>3')], undefined, none).map(signature),
      ).toEqual(['countChangeWaitsForFlow[frozen]']);
    });
  });
});
