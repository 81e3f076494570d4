import { Injectable, Module } from '@nestjs/common';
import { periodicKey, Task, TaskSupersededError } from '../../lib';
import { HourlyTaskModule } from '../fixtures/hourly-task';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, type TestApp } from '../fixtures/test-app';
import { waitingResult } from '../fixtures/waiting-result';
import { receivedSoFar } from '../utils/pubsub';
import { createRedis, waitFor } from '../utils/redis';

const TASK = 'attack.periodic-waiting-superseded';
const KEY = periodicKey(TASK);

/** The same chain as HourlyTaskModule's, on another period: a deploy that re-times it. */
@Injectable()
class EveryTwoHours {
  @Task(TASK, { every: '2h' })
  tick(): void {}
}
@Module({ providers: [EveryTwoHours] })
class RetimedModule {}

/**
 * Attack: the waiting run of a `@Task` chain (delayed or queued) superseded by schedule-periodic.lua:
 * a replace() on the periodic key, or a worker booting with a changed definition (a deploy that
 * re-times the chain). The run is removed (ZREM, XDEL) and never settles, yet the script told
 * its result() waiters nothing (it takes no done channel): a result() waiting on it heard nothing
 * and answered superseded only at its timeout's last read, and one waiting without a timeout
 * (`timeoutMs: Infinity`) waited for good. enqueue.lua and schedule-runtime.lua tell 's:<id>'
 * when they supersede a waiting run; a running run says it at its (stale) settle.
 */
describe('attack: a periodic chain waiting run superseded by replace() or a re-timing boot', () => {
  const env = useProbeApps();

  /** A result() of `id` waiting (its first read said pending), and the done channel's messages. */
  async function waitingOn(app: TestApp, id: string) {
    const { answer } = await waitingResult(app, id, { key: KEY, timeoutMs: Infinity });
    const done: string[] = [];
    const sub = createRedis();
    await sub.subscribe(app.keys.doneChannel);
    sub.on('message', (_c, m: string) => done.push(m));
    return { answer, told: () => receivedSoFar(env.redis, app.keys.doneChannel, done).finally(() => sub.disconnect()) };
  }

  it.each([
    ['delayed', 3_600_000],
    ['queued', 0],
  ])('a replace() of the periodic key tells its %s run superseded', async (_state, delayMs) => {
    const app = await startApp({
      prefix: env.prefix,
      imports: [HourlyTaskModule.register(TASK)],
      options: { worker: false },
    });
    const first = await app.client.replace(TASK, 'first', { key: KEY, delayMs });
    const waiting = await waitingOn(app, first.id);
    const second = await app.client.replace(TASK, 'second', { key: KEY, delayMs });
    expect(await waiting.told()).toEqual([`s:${first.id}`]);
    expect(await waiting.answer).toBeInstanceOf(TaskSupersededError);
    expect((await app.client.status(KEY))?.id).toBe(second.id);
    expect(await env.redis.xlen(app.keys.stream)).toBe(delayMs === 0 ? 1 : 0);
  });

  it('a worker booting with a changed definition tells the waiting run superseded', async () => {
    const old = await startApp({ prefix: env.prefix, imports: [HourlyTaskModule.register(TASK)] });
    const run = await old.client.status(KEY);
    expect(run).toMatchObject({ state: 'delayed', id: expect.any(String) });
    const id = run?.id ?? '';
    const waiting = await waitingOn(old, id);
    await startApp({ prefix: env.prefix, imports: [RetimedModule] });
    await waitFor(async () => (await old.client.status(KEY))?.id !== id, { description: 'the chain re-timed' });
    expect(await waiting.told()).toEqual([`s:${id}`]);
    expect(await waiting.answer).toBeInstanceOf(TaskSupersededError);
  });
});
