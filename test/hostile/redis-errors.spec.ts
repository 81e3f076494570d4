import type Redis from 'ioredis';
import { QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { buildApp, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Redis itself answering with an error: out of memory, a flushed script cache, a read-only
 * replica. Every enqueue must settle (a rejection naming Redis's error, never a hang), write
 * nothing partial, and the queue must work again once Redis does. Each case runs on a private
 * redis-server, configured for it.
 */

const BOUND_MS = 5_000;

describe('Redis answering with errors', () => {
  afterEach(closeHostileApps);
  afterAll(closeAll);

  describe('OOM (maxmemory 1mb, noeviction)', () => {
    let server: RedisServerHandle;
    let admin: Redis;
    const prefix = randomPrefix();
    const keys = new QueueKeys(prefix, 'default');

    beforeAll(async () => {
      server = await startRedisServer({ args: ['--maxmemory', '1mb', '--maxmemory-policy', 'noeviction'] });
      admin = createRedis({}, server.url);
    });
    afterAll(async () => {
      await closeAll();
      await server.stop();
    });

    /** Writes 20 KB values until Redis refuses one with OOM; returns how many it took. */
    async function fillUntilOom(): Promise<number> {
      const chunk = 'x'.repeat(20_000);
      for (let i = 0; i < 1_000; i++) {
        try {
          await admin.set(`filler:${i}`, chunk);
        } catch (error) {
          expect((error as Error).message).toMatch(/^OOM /);
          return i;
        }
      }
      throw new Error('Redis never refused a write: is maxmemory in effect?');
    }

    it('enqueue, enqueueMany and a keyed enqueue reject with the OOM error, write nothing, and work again once memory is freed', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url }, worker: false }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      await client.enqueue('echo', 'warm-up'); // scripts loaded, connection ready: only memory differs below
      await admin.del(keys.stream);
      await fillUntilOom();

      const single = await rejectionOf(client.enqueue('echo', 'one'), BOUND_MS, 'enqueue under OOM');
      expect(single.message).toMatch(/OOM command not allowed/);
      const keyed = await rejectionOf(client.enqueue('echo', 'k', { key: 'oom-key' }), BOUND_MS, 'keyed enqueue under OOM');
      expect(keyed.message).toMatch(/OOM command not allowed/);
      const delayed = await rejectionOf(client.enqueue('echo', 'd', { delayMs: 60_000 }), BOUND_MS, 'delayed enqueue under OOM');
      expect(delayed.message).toMatch(/OOM command not allowed/);
      const many = await rejectionOf(
        client.enqueueMany([{ name: 'echo', payload: 1 }, { name: 'echo', payload: 2, options: { key: 'oom-many' } }]),
        BOUND_MS,
        'enqueueMany under OOM',
      );
      expect(many.message).toMatch(/OOM command not allowed/);

      // Nothing partial: no stream entry, no delayed member, no generation or state of either key.
      expect(await admin.exists(keys.stream, keys.delayed, keys.keyState('oom-key'), keys.keyState('oom-many'))).toBe(0);

      await admin.flushall();
      const after = await within(client.enqueue('echo', 'k', { key: 'oom-key' }), BOUND_MS, 'enqueue after memory was freed');
      expect(after.created).toBe(true);
      expect(after.generation).toBe(1); // the refused keyed enqueue did not bump the generation
      expect(await admin.xlen(keys.stream)).toBe(1);
    });

    it('a worker that hits OOM while settling keeps its task and settles it once memory is freed', async () => {
      await admin.flushall();
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url }, resultTtlMs: 60_000 }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      let filled = false;
      app.probe.on('echo', async (payload) => {
        await fillUntilOom(); // the settle of this run will need memory Redis refuses
        filled = true;
        return payload;
      });
      const handle = await client.enqueue('echo', 'settled late');
      await waitFor(() => filled, { description: 'the handler filled Redis' });
      // The result cannot be stored while Redis refuses writes...
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await admin.exists(keys.result(handle.id))).toBe(0);
      // ...and is stored, exactly once, once it accepts them again.
      for (let i = 0; i < 1_000; i++) await admin.del(`filler:${i}`);
      await expect(within(handle.result({ timeoutMs: 4_000 }), BOUND_MS, 'result after OOM')).resolves.toBe('settled late');
      expect(app.probe.runs.filter((r) => r.ctx.id === handle.id)).toHaveLength(1);
      await waitFor(async () => (await admin.xlen(keys.stream)) === 0, { description: 'the settled entry removed' });
    });
  });

  describe('NOSCRIPT after SCRIPT FLUSH', () => {
    let server: RedisServerHandle;
    let admin: Redis;
    const prefix = randomPrefix();

    beforeAll(async () => {
      server = await startRedisServer();
      admin = createRedis({}, server.url);
    });
    afterAll(async () => {
      await closeAll();
      await server.stop();
    });

    /** Empties Redis's script cache and proves it: the next script call meets NOSCRIPT. */
    async function flushScripts(): Promise<void> {
      await admin.script('FLUSH');
      const loaded = (await admin.info('memory')).match(/number_of_cached_scripts:(\d+)/)?.[1];
      expect(loaded).toBe('0');
    }

    it('enqueue, enqueueMany, a keyed run, a retry and result() all work after each flush', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url } }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      await expect((await client.enqueue('echo', 'before')).result({ timeoutMs: 3_000 })).resolves.toBe('before');

      // A plain enqueue (EVALSHA -> NOSCRIPT -> EVAL), and the worker's settle of it.
      await flushScripts();
      const plain = await within(client.enqueue('echo', 'plain'), BOUND_MS, 'enqueue after SCRIPT FLUSH');
      await expect(within(plain.result({ timeoutMs: 3_000 }), BOUND_MS, 'result after flush')).resolves.toBe('plain');

      // A settle whose script cache was flushed between the enqueue and the settle.
      const gate = new Promise<void>((resolve) => app.probe.on('once', async (p) => (await flushed, resolve(), p)));
      let flushedNow!: () => void;
      const flushed = new Promise<void>((resolve) => (flushedNow = resolve));
      const settleAfterFlush = await client.enqueue('once', 'settle-after-flush');
      await waitFor(() => app.probe.runsOf('once').length === 1, { description: 'the once handler started' });
      await flushScripts();
      flushedNow();
      await gate;
      await expect(within(settleAfterFlush.result({ timeoutMs: 3_000 }), BOUND_MS, 'settle after flush')).resolves.toBe('settle-after-flush');

      // enqueueMany goes through a pipeline.
      await flushScripts();
      const many = await within(
        client.enqueueMany([{ name: 'echo', payload: 'm1' }, { name: 'echo', payload: 'm2', options: { key: 'many-key' } }]),
        BOUND_MS,
        'enqueueMany after SCRIPT FLUSH',
      );
      await expect(Promise.all(many.map((h) => h.result({ timeoutMs: 3_000 })))).resolves.toEqual(['m1', 'm2']);

      // A keyed run (the claim script) and a failure with a retry (the fail script).
      let first = true;
      app.probe.on('flaky', (p) => {
        if (first) {
          first = false;
          throw new Error('first attempt fails');
        }
        return p;
      });
      await flushScripts();
      const keyed = await within(client.enqueue('flaky', 'retried', { key: 'flush-key' }), BOUND_MS, 'keyed enqueue after flush');
      await expect(within(keyed.result({ timeoutMs: 4_000 }), BOUND_MS, 'retried result after flush')).resolves.toBe('retried');
      expect(app.probe.runsOf('flaky').map((r) => r.ctx.attempt)).toEqual([1, 2]);
    });
  });

  describe('READONLY from a replica', () => {
    let primary: RedisServerHandle;
    let replica: RedisServerHandle;
    let replicaAdmin: Redis;
    const prefix = randomPrefix();
    const keys = new QueueKeys(prefix, 'default');

    beforeAll(async () => {
      primary = await startRedisServer();
      replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
      replicaAdmin = createRedis({}, replica.url);
      await waitFor(async () => /master_link_status:up/.test(await replicaAdmin.info('replication')), {
        timeoutMs: 10_000,
        description: 'the replica in sync with its primary',
      });
    });
    afterAll(async () => {
      await closeAll();
      await replica.stop();
      await primary.stop();
    });

    it('enqueue against a replica rejects with READONLY (plain, keyed, delayed, enqueueMany), writing nothing', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: replica.url }, worker: false }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      const calls: [string, () => Promise<unknown>][] = [
        ['enqueue', () => client.enqueue('echo', 1)],
        ['keyed enqueue', () => client.enqueue('echo', 1, { key: 'ro' })],
        ['delayed enqueue', () => client.enqueue('echo', 1, { delayMs: 10_000 })],
        ['enqueueMany', () => client.enqueueMany([{ name: 'echo', payload: 1 }])],
        ['replace', () => client.replace('echo', 1, { key: 'ro' })],
        ['cancel', () => client.cancel('ro')],
      ];
      for (const [what, call] of calls) {
        const error = await rejectionOf(call(), BOUND_MS, `${what} on a replica`);
        expect(error.message).toMatch(/READONLY/);
      }
      expect(await replicaAdmin.exists(keys.stream, keys.delayed, keys.keyState('ro'))).toBe(0);
      expect(await replicaAdmin.dbsize()).toBe(0);
    });

    it('a worker pointed at a replica fails bootstrap with READONLY instead of hanging', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: replica.url } }));
      const error = await rejectionOf(app.init(), BOUND_MS, 'worker bootstrap on a replica');
      expect(error.message).toMatch(/READONLY/);
    });
  });
});
