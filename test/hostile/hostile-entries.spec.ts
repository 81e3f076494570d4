import type Redis from 'ioredis';
import { cleanUpAfterSuite, logger, startApp, type TestApp } from '../fixtures/test-app';
import { createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Anyone with access to the Redis can XADD to a queue's stream: entries that the library did not
 * write must never crash a worker, never reach a handler, and each must end in the dead-letter
 * stream with a reason saying what was wrong. After each one, the next valid task still runs.
 */

type Field = string | Buffer;
type Fields = Record<string, string>;

const toMap = (fields: string[]): Fields =>
  Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]])));

/** Bytes that are not valid UTF-8: a lone continuation byte, an overlong form, and 0xFF. */
const INVALID_UTF8 = Buffer.from([0x80, 0xc0, 0xaf, 0xff, 0xfe]);
const FIVE_MB = 5 * 1024 * 1024;

/** A payload as an assertion message can show it (a 5 MB one, shortened). */
const summary = (payload: unknown): unknown =>
  typeof payload === 'string' && payload.length > 60
    ? `${payload.slice(0, 20)}… (${payload.length} characters)`
    : payload;

describe('hostile stream entries', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;
  let serial = 0;

  beforeAll(async () => {
    t = await startApp({ prefix });
  });
  cleanUpAfterSuite(prefix, redis);

  /** XADDs raw fields (Buffers are sent byte for byte) and returns the entry id. */
  async function xaddRaw(fields: Field[]): Promise<string> {
    const id = await (redis as Redis).xadd(t.keys.stream, '*', ...(fields as string[]));
    if (!id) throw new Error('XADD returned no id');
    return id;
  }

  async function deadLetterOf(entryId: string): Promise<Fields> {
    return waitFor(() => findLetter(entryId), { timeoutMs: 3_000, description: `a dead letter for entry ${entryId}` });
  }

  /**
   * Writes the hostile entry, then a valid task; asserts the hostile one is dead-lettered with
   * `reason`, never ran a handler, and the valid one still runs to a result.
   */
  async function expectContained(fields: Field[], reason: RegExp): Promise<Fields> {
    const tag = `hostile-${++serial}`;
    const runsBefore = t.probe.runs.length;
    const entryId = await xaddRaw(fields);
    const valid = await t.client.enqueue('echo', tag);
    await expect(valid.result({ timeoutMs: 3_000 })).resolves.toBe(tag);
    // Settled either way: dead-lettered, or (the failure) handed to a handler.
    const strays = () => t.probe.runs.slice(runsBefore).filter((r) => r.ctx.id !== valid.id);
    const letter = await waitFor(async () => (await findLetter(entryId)) ?? (strays().length > 0 ? 'ran' : undefined), {
      timeoutMs: 3_000,
      description: `a dead letter for entry ${entryId}`,
    });
    expect(strays().map((r) => ({ id: r.ctx.id, name: r.name, payload: summary(r.payload) }))).toEqual([]);
    if (letter === 'ran') throw new Error('unreachable');
    expect(letter.reason).toMatch(reason);
    // The hostile entry was acked and removed: nothing of it stays in the stream or pending.
    await waitFor(async () => (await redis.xrange(t.keys.stream, entryId, entryId)).length === 0, {
      timeoutMs: 2_000,
      description: `entry ${entryId} removed from the stream`,
    });
    const pending = (await redis.xpending(t.keys.stream, 'workers', entryId, entryId, 1)) as unknown[];
    expect(pending).toEqual([]);
    return letter;
  }

  async function findLetter(entryId: string): Promise<Fields | undefined> {
    return (await redis.xrange(t.keys.deadLetter, '-', '+')).map(([, f]) => toMap(f)).find((e) => e.entry === entryId);
  }

  describe('missing fields', () => {
    it.each<[string, Field[], RegExp]>([
      ['no known field at all', ['foo', 'bar'], /missing field "id"/],
      ['no id', ['n', 'echo', 'p', '1'], /missing field "id"/],
      ['an empty id', ['id', '', 'n', 'echo', 'p', '1'], /missing field "id"/],
      ['no task name', ['id', 'm-1', 'p', '1'], /missing field "n"/],
      ['an empty task name', ['id', 'm-2', 'n', '', 'p', '1'], /missing field "n"/],
      ['no payload', ['id', 'm-3', 'n', 'echo'], /missing field "p"/],
    ])('%s is dead-lettered', async (_label, fields, reason) => {
      await expectContained(fields, reason);
    });
  });

  describe('wrong types', () => {
    it.each<[string, Field[], RegExp]>([
      ['a payload that is not JSON', ['id', 'w-1', 'n', 'echo', 'p', '{"unterminated'], /payload does not decode/],
      ['an empty payload', ['id', 'w-2', 'n', 'echo', 'p', ''], /payload does not decode/],
      ['an empty key', ['id', 'w-3', 'n', 'echo', 'p', '1', 'k', ''], /field "k"/],
      ['a key longer than 1024 characters', ['id', 'w-4', 'n', 'echo', 'p', '1', 'k', 'k'.repeat(1025)], /field "k"/],
      ['a due time that is not a number', ['id', 'w-5', 'n', 'echo', 'p', '1', 'd', 'soon'], /field "d"/],
    ])('%s is dead-lettered', async (_label, fields, reason) => {
      await expectContained(fields, reason);
    });

    it('keeps the original fields next to the reason, for inspection and replay', async () => {
      const letter = await expectContained(['id', 'w-6', 'n', 'echo', 'p', '[1,', 'a', '1'], /payload does not decode/);
      expect(letter).toMatchObject({ id: 'w-6', n: 'echo', p: '[1,', a: '1' });
    });
  });

  describe('attempt fields that are not positive integers', () => {
    it.each(['abc', '0', '-1', '1.5', '1e400', '', 'NaN', 'Infinity'])('a = %j is dead-lettered', async (a) => {
      await expectContained(['id', `a-${a}`, 'n', 'echo', 'p', '1', 'a', a], /field "a" \(attempt\)/);
    });
  });

  describe('generation fields that are not non-negative integers', () => {
    // Keyed entries: the generation is what the head and tail checks compare, so a bad one
    // must not be read as generation 0 ("never stale").
    it.each(['abc', '-1', '1e400', '1.5', 'NaN'])('g = %j on a keyed entry is dead-lettered', async (g) => {
      await expectContained(
        ['id', `g-${g}`, 'n', 'echo', 'p', '1', 'k', `key-${g}`, 'g', g],
        /field "g" \(generation\)/,
      );
    });

    // Number('') === 0 and Number('  ') === 0: without a strict integer check an empty
    // generation passes as 0, the generation that is never treated as stale.
    it.each(['', '   '])('g = %j (blank) on a keyed entry is dead-lettered, not read as generation 0', async (g) => {
      await expectContained(
        ['id', `g-blank-${g.length}`, 'n', 'echo', 'p', '1', 'k', `key-blank-${g.length}`, 'g', g],
        /field "g" \(generation\)/,
      );
    });
  });

  describe('unknown task names', () => {
    it.each(['no-such-task', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])(
      'n = %j is dead-lettered',
      async (name) => {
        // Names that are Object.prototype members must not resolve to a "handler" either.
        await expectContained(['id', `u-${name}`, 'n', name, 'p', '1'], /unknown task/);
      },
    );
  });

  describe('invalid UTF-8', () => {
    it('in the task name: dead-lettered (as an unknown task, or as not UTF-8)', async () => {
      await expectContained(
        ['id', 'utf-1', 'n', Buffer.concat([Buffer.from('echo'), INVALID_UTF8]), 'p', '1'],
        /unknown task|not valid UTF-8/,
      );
    });

    // The dead-letter stream is where an operator inspects and replays what could not run: it
    // must hold the entry as it was written, not a copy re-encoded through JavaScript strings
    // (where every invalid byte became U+FFFD).
    it('the dead letter keeps the bytes as written', async () => {
      const name = Buffer.concat([Buffer.from('echo'), INVALID_UTF8]);
      const entryId = await xaddRaw(['id', 'utf-1b', 'n', name, 'p', '1']);
      await deadLetterOf(entryId);
      const dlqId = await findDlqId(entryId);
      const [[, raw]] = await redis.xrangeBuffer(t.keys.deadLetter, dlqId, dlqId);
      const kept = raw[raw.findIndex((b, i) => i % 2 === 0 && b.toString() === 'n') + 1];
      expect(kept.toString('hex')).toBe(name.toString('hex'));
    });

    // A payload whose bytes are not UTF-8 cannot be decoded faithfully: reading it as a string
    // silently turns each bad byte into U+FFFD, and the handler would run on altered data.
    it('in the payload: dead-lettered with a reason, never handed to the handler altered', async () => {
      const payload = Buffer.concat([Buffer.from('"'), INVALID_UTF8, Buffer.from('"')]);
      await expectContained(['id', 'utf-2', 'n', 'echo', 'p', payload], /UTF-8/i);
    });
  });

  describe('enormous payloads', () => {
    it('a 5 MB payload that is not JSON is dead-lettered and the worker keeps going', async () => {
      await expectContained(
        ['id', 'big-1', 'n', 'echo', 'p', `[${'9,'.repeat(FIVE_MB / 2)}`],
        /payload does not decode|maxPayloadBytes/,
      );
    });

    // The producer refuses payloads over maxPayloadBytes (1 MiB by default); an entry written
    // around the producer must not get a 5 MB payload into a handler either.
    it('a 5 MB valid JSON payload (over maxPayloadBytes) is dead-lettered, not run', async () => {
      await expectContained(['id', 'big-2', 'n', 'echo', 'p', JSON.stringify('x'.repeat(FIVE_MB))], /maxPayloadBytes/);
    });
  });

  it('the worker survived every entry above: no consumer stopped, nothing left pending', async () => {
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([]);
    const valid = await t.client.enqueue('echo', 'last');
    await expect(valid.result({ timeoutMs: 3_000 })).resolves.toBe('last');
    expect(((await redis.xpending(t.keys.stream, 'workers')) as unknown[])[0]).toBe(0);
  });

  async function findDlqId(entryId: string): Promise<string> {
    const entries = await redis.xrange(t.keys.deadLetter, '-', '+');
    const found = entries.find(([, f]) => toMap(f).entry === entryId);
    if (!found) throw new Error(`no dead letter for ${entryId}`);
    return found[0];
  }
});
