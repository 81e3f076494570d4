import { InvalidOptionError } from '../../lib';
import { HostileTaskModule } from '../fixtures/hostile-tasks';
import { Probe } from '../fixtures/probe';
import { closeApps, startApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

/*
 * Attack on "result() tells what happened": a resultTtlMs of a few ms was accepted, and the
 * stored result expired between the done message and the waiter's read of it (a pub/sub hop,
 * a round trip, an event-loop turn later). result() then resolved undefined for a handler that
 * returned a value, and a wait that began just after a failure resolved undefined too (the
 * entry gone, nothing stored: "completed"). Such a value is one no waiter can count on: it is
 * refused at startup, naming the option; 0 (keep nothing) stays allowed, as it says so itself.
 */
describe('resultTtlMs: too short for a waiter to read the result', () => {
  const redis = createRedis();
  const prefix = randomPrefix();
  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  const refusal = (started: Promise<unknown>) =>
    started.then(
      () => 'booted',
      (error: unknown) => error,
    );

  it('a module resultTtlMs under 1000 ms fails the startup, naming the option and the floor', async () => {
    const error = await refusal(startApp({ prefix, probe: new Probe(), options: { resultTtlMs: 5 } }));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: 'resultTtlMs', message: expect.stringContaining('1000') });
  });

  it('a @Task resultTtlMs under 1000 ms fails the startup, naming the task’s option', async () => {
    const error = await refusal(
      startApp({ prefix, probe: new Probe(), imports: [HostileTaskModule.register('brief', { resultTtlMs: 5 })] }),
    );
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ option: "@Task('brief').resultTtlMs" });
  });

  it('0 (keep nothing) and 1000 are accepted', async () => {
    await expect(startApp({ prefix, options: { resultTtlMs: 0 } })).resolves.toBeDefined();
    await expect(startApp({ prefix, options: { resultTtlMs: 1_000 } })).resolves.toBeDefined();
  });
});
