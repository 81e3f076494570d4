import { runSchedule, signature } from '../../explore/runner';
import { fixedSchedule, randomSchedule } from '../../explore/schedule';
import type { Step } from '../../explore/steps';
import { WORLDS } from '../../explore/worlds';
import { useExploreEnv } from '../utils/explore-env';

// pause() and resume() in the explorer: each worker's real PauseWatch hears the calls' notices at
// steps of their own (or loses them) and polls the records, a poll's reply possibly held past the
// notices of later calls; a shut gate stops the worker's reads, sweeps and starts. The invariant
// pauseGateFollowsNewest holds the gate to the newest call the worker learned of.
describe('explorer: pause and resume', () => {
  const env = useExploreEnv();

  it('a poll answered after the notice of a later call leaves the gate as the notice set it', async () => {
    const steps: Step[] = [
      { op: 'poll', w: 1, reply: 'held' }, // reads the records: never paused
      { op: 'pause', paused: true },
      { op: 'hear', w: 1 }, // the notice comes in while the poll is under way
      { op: 'release', w: 1 }, // the poll's answer (not paused) is older than the notice
      { op: 'poll', w: 1 },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.classic);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(0, 5).map((l) => l.note.replace(/\d{13}/, 'V'))).toEqual([
      'polled; reply held',
      'paused, version V',
      'heard paused:V: gate shut',
      'held replies delivered',
      'polled: gate shut',
    ]);
  });

  it('a worker that lost the notice stops at its next poll; a paused worker reads and starts nothing', async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' },
      { op: 'pause', paused: true },
      { op: 'hear', w: 0, lost: true },
      { op: 'poll', w: 0 },
      { op: 'read', w: 0 },
      { op: 'hear', w: 1 },
      { op: 'read', w: 1 },
      { op: 'reclaim', w: 1, judge: 'stale' },
      { op: 'enqueue-flow', id: 't2', group: 'g2' }, // admission goes on while paused
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.flow);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines.slice(2, 9).map((l) => l.note.replace(/\d{13}/, 'V'))).toEqual([
      'notice of version V lost',
      'polled: gate shut',
      'paused',
      'heard paused:V: gate shut',
      'paused',
      'paused',
      'admitted',
    ]);
    // The drain resumes the queue: both run then.
    const drained = result.lines
      .filter((l) => l.drain && l.step.op === 'start')
      .map((l) => (l.step as { task: string }).task);
    expect(drained.sort()).toEqual(['t1', 't2']);
  });

  it('a rated run counted before a pause is claimed again at its start after the resume: its start moves', async () => {
    const steps: Step[] = [
      { op: 'enqueue-flow', id: 't1', group: 'g1' }, // admitted with its tokens (markers)
      { op: 'read', w: 0 },
      { op: 'deliver', w: 0 }, // claim.lua counts its start
      { op: 'pause', paused: true },
      { op: 'hear', w: 0 },
      { op: 'start', w: 0, task: 't1' }, // the gate holds it
      { op: 'pause', paused: false },
      { op: 'hear', w: 0 },
      { op: 'hear', w: 0 },
      { op: 'start', w: 0, task: 't1' },
    ];
    const result = await runSchedule(env(), fixedSchedule(steps), WORLDS.rate);
    expect(result.violations.map(signature)).toEqual([]);
    expect(result.lines[5].note).toBe('paused');
    expect(result.lines[9].note).toBe('handler started, claimed again after a pause');
    // One record in each of its two windows: the claim after the pause moved the first (a second
    // token would leave four).
    const elapsed = result.lines.find((l) => l.drain && l.step.op === 'elapse');
    expect(elapsed?.note).toMatch(/^2 start record\(s\)/);
  });

  it('random schedules with pauses keep every invariant, in the classic and the rate worlds', async () => {
    let pauses = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const shape = seed % 2 ? WORLDS.classic : WORLDS.rate;
      const result = await runSchedule(env(), randomSchedule(seed, { steps: 30, maxTasks: 6 }), shape);
      expect({ seed, violations: result.violations.map(signature) }).toEqual({ seed, violations: [] });
      pauses += result.steps.filter((s) => s.op === 'pause').length;
    }
    expect(pauses).toBeGreaterThan(4);
  });
});
