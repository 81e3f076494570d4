import { flowRingShape } from '../../explore/flow-invariants';
import type { FlowView } from '../../explore/flow-snapshot';
import { signature } from '../../explore/runner';
import type { Snapshot } from '../../explore/snapshot';
import type { StepResult } from '../../explore/steps';
import type { World } from '../../explore/world';
import { WORLDS } from '../../explore/worlds';
import { flowView } from '../fixtures/flow-view';

// The explorer's check of the ring's shape, on snapshots made by hand: a pair twice in the ring
// (or in it and parked) takes two turns a round; a ringed pair in neither is never served again.
describe('explorer: flowRingShape', () => {
  const fake = { shape: WORLDS.flow, alias: (id: string) => id, workers: [] } as unknown as World;
  const check = (over: Partial<FlowView>) =>
    flowRingShape(fake, [{ flow: flowView(over) } as unknown as Snapshot], undefined, {} as StepResult).map(signature);
  const a = 'job\0A';
  const b = 'job\0B';

  it('passes a ring and parked lines that hold each ringed pair once', () => {
    expect(check({ ringed: new Set([a, b]), ring: [a], parked: [`\0job\0${'1'.padStart(16, '0')}\0B`] })).toEqual([]);
    expect(check({ ringed: new Set([b]), parked: [`job\0${'2'.padStart(16, '0')}\0B`] })).toEqual([]);
  });

  it('sees a pair twice, a pair ringed nowhere, and one in the ring but not ringed', () => {
    expect(check({ ringed: new Set([a]), ring: [a, a] })).toEqual(['flowRingShape[twice]']);
    expect(check({ ringed: new Set([a]), ring: [a], parked: [`\0job\0${'1'.padStart(16, '0')}\0A`] })).toEqual([
      'flowRingShape[twice]',
    ]);
    expect(check({ ringed: new Set([a, b]), ring: [a] })).toEqual(['flowRingShape[lost]']);
    expect(check({ ringed: new Set(), ring: [a] })).toEqual(['flowRingShape[unringed]']);
  });

  it('sees a pair waiting with a free group slot out of the ring, unless its group is full or its rate window wakes it', () => {
    const limits = new Map([['job', { global: 0, group: 1 }]]);
    const room = [{ id: 't1', name: 'job', group: 'A', prefix: `${a}\0r` }];
    expect(check({ limits, room })).toEqual(['flowRingShape[unserved]']);
    expect(check({ limits, room, ringed: new Set([a]), ring: [a] })).toEqual([]);
    expect(check({ limits, room, count: new Map([[a, 1]]) })).toEqual([]);
    const wakes = new Map([[a, 2_000]]);
    expect(check({ limits, room, rate: { records: [], markers: [], reservations: [], wakes, now: 1_000 } })).toEqual(
      [],
    );
  });
});
