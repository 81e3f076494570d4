import { writePause } from '../lib/client/queue-pause';
import { quiesce, type Step, type StepResult } from './steps';
import { PAUSED_QUEUE, type World, type WorkerModel } from './world';

const NOOP: StepResult = { applied: false, note: 'n/a' };

/**
 * A client's pause() or resume() (QueueClient: queue-pause.ts's writePause over every partition):
 * partition 0 draws the version, the others take it. Each live worker is sent its notice (the
 * control channel's message), heard at its own step `hear`, or never (`drop`).
 */
export async function pauseStep(world: World, step: Extract<Step, { op: 'pause' }>): Promise<StepResult> {
  const keys = world.parts.map((p) => p.queueKeys);
  await writePause(world.client, keys, step.paused);
  const version = Number(await world.client.hget(keys[0].pause, 'version'));
  world.pauseCalls.set(version, step.paused);
  for (const w of world.live()) w.notices.push({ paused: step.paused, version });
  return { applied: true, note: `${step.paused ? 'paused' : 'resumed'}, version ${version}` };
}

/** Worker `w` hears its oldest notice (pause-watch.ts's notice), or loses it on the way. */
export function noticeStep(w: WorkerModel, lost: boolean): StepResult {
  const notice = w.notices.shift();
  if (!notice) return NOOP;
  if (lost) return { applied: true, note: `notice of version ${notice.version} lost` };
  w.pause.notice(PAUSED_QUEUE, notice.paused, notice.version);
  w.learned = Math.max(w.learned, notice.version);
  return { applied: true, note: `heard ${notice.paused ? 'paused' : 'resumed'}:${notice.version}${gateNote(w)}` };
}

/**
 * Worker `w` polls the pause records (the heartbeat's poll), its reply held when `held`: notices
 * heard before the `release` step came in while the poll was under way.
 */
export async function pollStep(world: World, w: WorkerModel, held: boolean): Promise<StepResult> {
  // PauseWatch polls one at a time: a poll under way makes another return without reading.
  if (w.polls.length > 0) return NOOP;
  const sentWhen = world.newestPauseCall();
  w.wire.holding = held;
  try {
    const polled = w.pause.pollNow().then(() => {
      w.learned = Math.max(w.learned, sentWhen);
      w.polls.splice(w.polls.indexOf(sentWhen), 1);
    });
    w.polls.push(sentWhen);
    const { done } = await quiesce(polled);
    return { applied: true, note: done ? `polled${gateNote(w)}` : 'polled; reply held' };
  } finally {
    w.wire.holding = false;
  }
}

function gateNote(w: WorkerModel): string {
  return `: gate ${w.pause.gate(PAUSED_QUEUE).isPaused ? 'shut' : 'open'}`;
}
