import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { defineScripts } from '../../lib/redis/scripts';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

const PER_MS = 3_000;
/** Starts of 'attack.rated' on Redis's clock, read as the handler begins. */
const starts: Array<{ id: string; at: number }> = [];
let clock: () => Promise<number>;

@Injectable()
class RatedTasks {
  @Task('attack.rated', { rateLimit: { max: 1, perMs: PER_MS } })
  async rated(_payload: unknown, ctx: TaskContext) {
    starts.push({ id: ctx.id, at: ctx.startedAt ?? (await clock()) });
  }
}

@Module({ providers: [RatedTasks] })
class RatedTasksModule {}

/**
 * Attack on rate limits when the limits a producer records differ from the worker's (a producer
 * with an older @Task definition, or none). The worker sends a run through claim.lua (where its
 * start is counted) only when its entry carries field rl, which admission adds only when the
 * limits recorded at that moment have a rate. An entry admitted under flow control (field fl)
 * without rl is never counted: its marker was never taken, the worker runs it without a claim
 * (intake's safety net, enter-admission, only catches entries without fl), and the next
 * admission, under the restored rates, finds the window empty. Two starts in one window of a
 * limit of 1. Guarantee 1.
 */
describe('attack: a flow entry admitted without field rl starts outside the rate limit', () => {
  const env = useProbeApps();
  beforeEach(() => {
    starts.length = 0;
    clock = async () => {
      const [s, us] = await env.redis.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
  });
  const gap = () => Math.abs(starts[1].at - starts[0].at);

  const enqueueAsOtherProducer = async (id: string, limits: FlowLimits | undefined, group?: string) => {
    const app = await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { worker: false } });
    defineScripts(env.redis);
    return enqueueFlowScript(app.keys, {
      id,
      name: 'attack.rated',
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      group,
      limits,
    }).run(env.redis);
  };

  it('a producer with the older definition (globalConcurrency, no rate) and one with the new: 1 start per window', async () => {
    // The older @Task('attack.rated', { globalConcurrency: 10 }) enqueues: its limits are recorded.
    await enqueueAsOtherProducer('old', { global: 10, group: 0, agingMs: 1000 });
    const worker = await startApp({ prefix: env.prefix, imports: [RatedTasksModule] });
    await worker.client.enqueue('attack.rated', {});
    await waitFor(() => starts.length === 2, { timeoutMs: 15_000 });
    expect(gap()).toBeGreaterThanOrEqual(PER_MS);
  }, 30_000);

  it('a producer without the definition, naming a group, first: 1 start per window', async () => {
    // No limits known to it ('' keeps the recorded ones: none recorded yet).
    await enqueueAsOtherProducer('undefined-def', undefined, 'tenant');
    const worker = await startApp({ prefix: env.prefix, imports: [RatedTasksModule] });
    await worker.client.enqueue('attack.rated', {}, { group: 'tenant' });
    await waitFor(() => starts.length === 2, { timeoutMs: 15_000 });
    expect(gap()).toBeGreaterThanOrEqual(PER_MS);
  }, 30_000);
});
