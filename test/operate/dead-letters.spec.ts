import { RedriveRefusedError, TaskNotFoundError } from '../../lib';
import { closeApps, startApp, type TestApp } from '../fixtures/test-app';
import { cleanupPrefix, closeAll, createRedis, randomPrefix } from '../utils/redis';

// Dead letters: list, redrive (same id and key, attempt 1), purge; stale actions change nothing.
describe('dead letters: redrive and purge', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  let t: TestApp;
  let failing: Set<string>;

  beforeEach(async () => {
    await cleanupPrefix(redis, prefix);
    t = await startApp({ prefix });
    failing = new Set();
    // 'once' has one attempt: it fails for good while its payload is in `failing`.
    t.probe.on('once', (payload, ctx) => {
      if (failing.has(String(payload))) throw new Error(`no ${String(payload)}`);
      return `${String(payload)} on attempt ${ctx.attempt}`;
    });
  });
  afterEach(closeApps);
  afterAll(async () => {
    await cleanupPrefix(redis, prefix);
    await closeAll();
  });

  async function deadLetter(payload: string, key?: string): Promise<{ id: string; deadLetterId: string }> {
    failing.add(payload);
    const handle = await t.client.enqueue('once', payload, { key });
    await expect(handle.result()).rejects.toThrow(`no ${payload}`);
    failing.delete(payload);
    const { tasks } = await t.client.list('dead');
    const dead = tasks.find((x) => x.id === handle.id)!;
    return { id: handle.id, deadLetterId: dead.deadLetterId! };
  }

  it('redrives a task: same id, attempt 1, it runs again; a second redrive of it says not found', async () => {
    const { id, deadLetterId } = await deadLetter('a');
    await t.client.redrive(deadLetterId);
    await expect(t.client.handle(id).result({ timeoutMs: 5_000 })).resolves.toBe('a on attempt 1');
    expect(t.probe.runsOf('once').map((r) => r.ctx.id)).toEqual([id, id]);
    expect((await t.client.counts()).deadLettered).toBe(0);
    await expect(t.client.redrive(deadLetterId)).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('redrives a keyed task under its key with a new generation while the key still names it', async () => {
    const { id, deadLetterId } = await deadLetter('k', 'key-1');
    const before = await t.client.status('key-1');
    expect(before).toMatchObject({ state: 'failed', id });
    await t.client.redrive(deadLetterId);
    await expect(t.client.handle(id, { key: 'key-1' }).result({ timeoutMs: 5_000 })).resolves.toBe('k on attempt 1');
    const after = await t.client.status('key-1');
    expect(after).toMatchObject({ state: 'completed', id });
    expect(after!.generation).toBeGreaterThan(before!.generation!);
  });

  it('refuses to redrive a keyed task whose key moved on to a newer run, and keeps the dead letter', async () => {
    const { deadLetterId } = await deadLetter('old', 'key-2');
    const newer = await t.client.enqueue('once', 'new', { key: 'key-2' });
    await expect(newer.result()).resolves.toBe('new on attempt 1');
    const error = await t.client.redrive(deadLetterId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedriveRefusedError);
    expect((error as RedriveRefusedError).reason).toBe('key-moved-on');
    expect((await t.client.list('dead')).tasks.map((x) => x.deadLetterId)).toEqual([deadLetterId]);
    expect(await t.client.status('key-2')).toMatchObject({ state: 'completed', id: newer.id });
    expect(t.probe.runsOf('once').filter((r) => r.payload === 'old')).toHaveLength(1);
  });

  it('redriveAll redrives every task and keeps what is not a task; purge removes one or all', async () => {
    const a = await deadLetter('x');
    const b = await deadLetter('y');
    const raw = await redis.xadd(
      t.keys.deadLetter,
      '*',
      'raw',
      '<not json>',
      'reason',
      'delayed member does not decode',
    );
    const result = await t.client.redriveAll();
    expect(result).toEqual({ redriven: 2, refused: [{ deadLetterId: raw, reason: 'not-a-task' }] });
    await expect(t.client.handle(a.id).result({ timeoutMs: 5_000 })).resolves.toBe('x on attempt 1');
    await expect(t.client.handle(b.id).result({ timeoutMs: 5_000 })).resolves.toBe('y on attempt 1');

    expect(await t.client.purgeDeadLetters({ ids: [raw!] })).toBe(1);
    await expect(t.client.purgeDeadLetters({ ids: [raw!] })).rejects.toBeInstanceOf(TaskNotFoundError);
    await deadLetter('p');
    await deadLetter('q');
    expect(await t.client.purgeDeadLetters()).toBe(2);
    expect((await t.client.counts()).deadLettered).toBe(0);
  });
});
