import { InvalidOptionError, PayloadError, UnknownTaskError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

type Fields = Record<string, string>;
const toMap = (fields: string[]): Fields =>
  Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]])));

// Anyone can XADD to the stream, and callers pass anything to enqueue: neither may stop a queue.
describe('bad input', () => {
  const prefix = randomPrefix();
  const redis = createRedis();

  afterEach(async () => {
    await closeApps();
    await cleanupPrefix(redis, prefix);
  });
  afterAll(closeAll);

  describe('entries XADDed by hand', () => {
    let t: TestApp;
    beforeEach(async () => {
      t = await startApp({ prefix });
    });

    it('dead-letters each malformed entry with a reason, and the next valid task still runs', async () => {
      const missingId = await redis.xadd(t.keys.stream, '*', 'n', 'echo', 'p', '1');
      const missingName = await redis.xadd(t.keys.stream, '*', 'id', 'hand-1', 'p', '1');
      const badJson = await redis.xadd(t.keys.stream, '*', 'id', 'hand-2', 'n', 'echo', 'p', '{nope');
      const unknown = await redis.xadd(t.keys.stream, '*', 'id', 'hand-3', 'n', 'no-such-task', 'p', '1');
      const badAttempt = await redis.xadd(t.keys.stream, '*', 'id', 'hand-4', 'n', 'echo', 'p', '1', 'a', '-2');
      const valid = await t.client.enqueue('echo', 'after the junk');

      await expect(valid.result()).resolves.toBe('after the junk');
      const letters = await waitFor(
        async () => {
          const entries = (await redis.xrange(t.keys.deadLetter, '-', '+')).map(([, f]) => toMap(f));
          return entries.length === 5 ? entries : undefined;
        },
        { description: 'five dead letters' },
      );
      const reasonOf = (entry: string | null) => letters.find((l) => l.entry === entry)?.reason;
      expect(reasonOf(missingId)).toMatch(/missing field "id"/);
      expect(reasonOf(missingName)).toMatch(/missing field "n"/);
      expect(reasonOf(badJson)).toMatch(/payload does not decode/);
      expect(reasonOf(unknown)).toMatch(/unknown task "no-such-task"/);
      expect(reasonOf(badAttempt)).toMatch(/field "a"/);
      // The original fields travel with the reason, for inspection and replay.
      expect(letters.find((l) => l.entry === badJson)).toMatchObject({ id: 'hand-2', n: 'echo', p: '{nope' });
      // Only the valid task reached a handler; nothing is left in the stream or pending.
      expect(t.probe.runs.map((r) => r.ctx.id)).toEqual([valid.id]);
      await waitFor(async () => (await redis.xlen(t.keys.stream)) === 0, { description: 'empty stream' });
      expect(((await redis.xpending(t.keys.stream, 'workers')) as unknown[])[0]).toBe(0);
      expect(t.events.counters()['dead-lettered']).toBe(5);
    });
  });

  describe('enqueue arguments', () => {
    let producer: TestApp;
    // A producer-only app: nothing consumes, so a stray write would stay visible in the stream.
    beforeEach(async () => {
      producer = await startApp({ prefix, options: { worker: false, maxPayloadBytes: 64 } });
    });

    async function expectNothingWritten(): Promise<void> {
      await expect(redis.xlen(producer.keys.stream)).resolves.toBe(0);
      await expect(redis.zcard(producer.keys.delayed)).resolves.toBe(0);
    }

    it('rejects an unknown task name with UnknownTaskError listing the known ones, writing nothing', async () => {
      await expect(producer.client.enqueue('no-such-task', 1)).rejects.toThrow(UnknownTaskError);
      await expect(producer.client.enqueue('no-such-task', 1)).rejects.toThrow(/Registered tasks: .*echo/);
      await expectNothingWritten();
    });

    it('rejects a payload JSON cannot carry with PayloadError, writing nothing', async () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(producer.client.enqueue('echo', { big: 1n })).rejects.toThrow(PayloadError);
      await expect(producer.client.enqueue('echo', circular)).rejects.toThrow(PayloadError);
      await expect(producer.client.enqueue('echo', () => 1, { delayMs: 1_000 })).rejects.toThrow(PayloadError);
      await expectNothingWritten();
    });

    it('rejects a payload over maxPayloadBytes with PayloadError, writing nothing', async () => {
      await expect(producer.client.enqueue('echo', 'x'.repeat(100))).rejects.toThrow(/exceed maxPayloadBytes \(64\)/);
      await expectNothingWritten();
    });

    it('rejects bad options with InvalidOptionError naming them, writing nothing', async () => {
      await expect(producer.client.enqueue('echo', 1, { delayMs: -5 })).rejects.toMatchObject({ option: 'delayMs' });
      await expect(producer.client.enqueue('echo', 1, { key: '' })).rejects.toMatchObject({ option: 'key' });
      // A lone surrogate reaches Redis as U+FFFD: keys 'k\uD800' and 'k\uDFFF' would be one key.
      await expect(producer.client.enqueue('echo', 1, { key: 'k\uD800' })).rejects.toMatchObject({ option: 'key' });
      await expect(producer.client.enqueue('echo', 1, { queue: '{other}' })).rejects.toThrow(InvalidOptionError);
      await expectNothingWritten();
    });

    it('enqueueMany writes nothing when any item is invalid', async () => {
      const items = [
        { name: 'echo', payload: 'fine' },
        { name: 'echo', payload: 2n },
      ];
      await expect(producer.client.enqueueMany(items)).rejects.toThrow(PayloadError);
      await expectNothingWritten();
    });

    it('writes exactly one entry for a valid call (the checks above can see a write)', async () => {
      await producer.client.enqueue('echo', 'ok');
      await expect(redis.xlen(producer.keys.stream)).resolves.toBe(1);
    });
  });
});
