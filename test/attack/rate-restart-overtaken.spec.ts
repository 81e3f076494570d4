import { Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { admitWithoutTokens } from '../fixtures/tokenless-admissions';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { waitFor } from '../utils/redis';

const PER_MS = 300;
const HELD = 2;
const FLOOD = 6;
/** The runs in the order they started: f<i> by payload, the held ones by task id (h<i>). */
const order: string[] = [];

@Injectable()
class RatedTasks {
  @Task('attack.overtaken', { rateLimit: { max: 1, perMs: PER_MS } })
  run(payload: { name?: string }, ctx: TaskContext) {
    order.push(payload.name ?? ctx.id);
  }
}

@Module({ providers: [RatedTasks] })
class RatedTasksModule {}

/**
 * Review finding (open since the rate limits landed): a run that must start again without a
 * token (a restart, or an entry admitted without one) waits in its worker for a token, and each
 * token a window frees was taken by the promotion that serves the window (an admission of a
 * waiting task) as often as by the held run's own claim. Under a steady stream of waiting tasks
 * the held run could wait for as long as tasks kept coming. Its wait now reserves the window's
 * next token: admissions count the reservation, the held run does not.
 */
describe('attack: held restarts lose their tokens to fresh admissions', () => {
  const env = useProbeApps();
  beforeEach(() => (order.length = 0));

  it(`${HELD} held runs and ${FLOOD} waiting tasks under 1 start per ${PER_MS} ms: the held runs start next`, async () => {
    // h0, h1 admitted without tokens (a producer whose definition has no rate); then a producer
    // with the rate: f0 takes the window's token at admission, f1..f5 wait in the room.
    await admitWithoutTokens(env, [RatedTasksModule], 'attack.overtaken', HELD);
    const producer = await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { worker: false } });
    for (let i = 0; i < FLOOD; i++) await producer.client.enqueue('attack.overtaken', { name: `f${i}` });

    await startApp({ prefix: env.prefix, imports: [RatedTasksModule], options: { concurrency: 4 } });
    await waitFor(() => order.length === HELD + FLOOD, { timeoutMs: 20_000, description: 'every run started' });
    // f0 starts on its token; h0 and h1, told to wait at that claim, take the next two tokens
    // (before, the promotion that served each freed window admitted f1, f2, ... ahead of them).
    expect(order.slice(0, HELD + 1).sort()).toEqual(['f0', 'h0', 'h1']);
  }, 30_000);
});
