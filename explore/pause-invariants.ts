import type { Check, Violation } from './invariants';
import { PAUSED_QUEUE } from './world';

/**
 * A worker's pause gate follows the newest call it has learned of: by a notice it heard, or by a
 * poll whose reply it saw (the records as the newest call completed before the poll left them).
 * Notices may be lost or heard late, and a poll's reply may arrive after the notices of later
 * calls: the gate must never go back to an older call's state (a resume undone by a late poll
 * would start runs of a paused queue for a whole heartbeat interval), nor stay behind a call
 * it learned of.
 */
export const pauseGateFollowsNewest: Check = (world) => {
  const out: Violation[] = [];
  for (const w of world.live()) {
    const expected = world.pauseCalls.get(w.learned) ?? false;
    const shut = w.pause.gate(PAUSED_QUEUE).isPaused;
    if (shut !== expected)
      out.push({
        invariant: 'pauseGateFollowsNewest',
        tag: shut ? 'shut' : 'open',
        message: `w${w.index}'s gate is ${shut ? 'shut' : 'open'}; the newest call it learned of (version ${w.learned}) ${expected ? 'paused' : w.learned ? 'resumed' : 'is none'}`,
      });
  }
  return out;
};

export const PAUSE_INVARIANTS: Check[] = [pauseGateFollowsNewest];
