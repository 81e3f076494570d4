import { TaskFailedError } from '../../lib';
import { FAILURE_MESSAGE_MAX, FAILURE_NAME_MAX } from '../../lib/task/task-outcome';
import { cleanUpAfterSuite, logger, startApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/**
 * A handler's error was stored whole: one throwing a 4,000,003-character message (and a
 * 100,000-character name) had the worker send it to Redis twice per attempt (the failure and the
 * dead-letter reason), and Redis keep it three times (the result key, the dead letter, the key's
 * state), 12 MB for one task. The message is stored cut past FAILURE_MESSAGE_MAX characters and
 * the name past FAILURE_NAME_MAX, each saying so, and so is the worker's warning of the dead
letter, which logged it whole. Review findings; the test failed for each.
 */
describe('attack: a huge handler error in what Redis stores', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  cleanUpAfterSuite(prefix, redis);

  it('is stored cut, with a marker of its length', async () => {
    const t = await startApp({ prefix });
    const message = `${'m'.repeat(4_000_000)}END`;
    const name = `${'N'.repeat(100_000)}END`;
    t.probe.on('once', () => {
      throw Object.assign(new Error(message), { name });
    });
    const handle = await t.client.enqueue('once', null, { key: 'huge-error' });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitFor(async () => (await redis.xlen(t.keys.deadLetter)) === 1);

    const marker = (length: number) => `… [cut: ${length} characters]`;
    const cutMessage = `${'m'.repeat(FAILURE_MESSAGE_MAX)}${marker(message.length)}`;
    const cutName = `${'N'.repeat(FAILURE_NAME_MAX)}${marker(name.length)}`;
    const stored = (await redis.get(t.keys.result(handle.id)))!;
    const [[, fields]] = await redis.xrange(t.keys.deadLetter, '-', '+');
    const reason = fields[fields.indexOf('reason') + 1] ?? '';
    const stateError = (await redis.hget(t.keys.keyState('huge-error'), 'error')) ?? '';
    // Compared by lengths and ends: a failure must not print megabytes.
    const ending = (text: string) => [text.length, text.slice(-80)];
    const logged = logger.warnings().find((line) => line.includes(handle.id)) ?? '';
    expect({
      failure: failure instanceof TaskFailedError,
      logged: ending(logged),
      result: ending(stored),
      reason: ending(reason),
      stateError: ending(stateError),
    }).toEqual({
      failure: true,
      logged: ending(`Task "once" (${handle.id}) dead-lettered: ${cutName}: ${cutMessage}`),
      result: ending(JSON.stringify({ ok: false, error: { name: cutName, message: cutMessage } })),
      reason: ending(`failed 1 time(s); last error: ${cutName}: ${cutMessage}`),
      stateError: ending(`failed 1 time(s); last error: ${cutName}: ${cutMessage}`),
    });
  });
});
