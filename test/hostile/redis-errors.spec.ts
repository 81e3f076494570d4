import { createHash } from 'node:crypto';
import { loadLuaSource } from '../../lib/redis/lua-source';
import type Redis from 'ioredis';
import { QueueClient } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { ConsumerHost } from '../../lib/consumer/consumer.host';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { buildApp, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { Latch } from '../utils/helpers';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { closeAll, createRedis, randomPrefix, waitFor } from '../utils/redis';

/*
 * Redis itself answering with an error: out of memory, a flushed script cache, a read-only
 * replica, a foreign key of the wrong type where the stream should be. Every enqueue must settle (a rejection naming Redis's error, never a hang), write
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
      // No limit yet: the app connects and loads its scripts first; each test then fills Redis
      // past 1 MB and sets `maxmemory 1mb`, so every write after that is refused with OOM.
      server = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
      admin = createRedis({}, server.url);
    });
    afterEach(async () => {
      await admin.config('SET', 'maxmemory', '0');
      await admin.flushall();
    });
    afterAll(async () => {
      await closeAll();
      await server.stop();
    });

    /** 2 MB of filler, then `maxmemory 1mb`: Redis is now well past its limit. */
    async function runOutOfMemory(): Promise<void> {
      const chunk = 'x'.repeat(100_000);
      const pipeline = admin.pipeline();
      for (let i = 0; i < 20; i++) pipeline.set(`filler:${i}`, chunk);
      await pipeline.exec();
      await admin.config('SET', 'maxmemory', '1mb');
      await expect(admin.set('probe', '1')).rejects.toThrow(/^OOM /);
    }

    it('enqueue, enqueueMany and a keyed enqueue reject with the OOM error, write nothing, and work again once memory is freed', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url }, worker: false }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      await client.enqueue('echo', 'warm-up'); // scripts loaded, connection ready: only memory differs below
      await admin.del(keys.stream);
      await runOutOfMemory();

      const calls: [string, () => Promise<unknown>][] = [
        ['enqueue', () => client.enqueue('echo', 'one')],
        [
          // Group commit: the first leaves alone, the rest together in one script call; each rejects.
          '20 concurrent enqueues',
          async () => {
            const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => client.enqueue('echo', i)));
            const reasons = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
            if (reasons.length === settled.length) throw reasons[reasons.length - 1];
            return `${settled.length - reasons.length} of them succeeded`;
          },
        ],
        ['keyed enqueue', () => client.enqueue('echo', 'k', { key: 'oom-key' })],
        ['delayed enqueue', () => client.enqueue('echo', 'd', { delayMs: 60_000 })],
        ['replace', () => client.replace('echo', 'r', { key: 'oom-key' })],
        [
          'enqueueMany',
          () =>
            client.enqueueMany([
              { name: 'echo', payload: 1 },
              { name: 'echo', payload: 2, options: { key: 'oom-many' } },
            ]),
        ],
      ];
      for (const [what, call] of calls) {
        const error = await rejectionOf(call(), BOUND_MS, `${what} under OOM`);
        expect(error.message).toMatch(/OOM command not allowed/);
      }
      // Nothing partial: no stream entry, no delayed member, no generation or state of either key.
      expect(await admin.exists(keys.stream, keys.delayed, keys.keyState('oom-key'), keys.keyState('oom-many'))).toBe(
        0,
      );

      await admin.config('SET', 'maxmemory', '0');
      const after = await within(
        client.enqueue('echo', 'k', { key: 'oom-key' }),
        BOUND_MS,
        'enqueue after memory was freed',
      );
      expect(after.created).toBe(true);
      expect(after.generation).toBe(1); // the refused keyed enqueue and replace did not bump the generation
      expect(await admin.xlen(keys.stream)).toBe(1);
    });

    it('a worker whose settle meets OOM keeps the run and settles it, once, when memory is freed', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url } }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      let oom = false;
      app.probe.on('echo', async (payload) => {
        await runOutOfMemory(); // the settle of this run needs writes Redis now refuses
        oom = true;
        return payload;
      });
      const handle = await client.enqueue('echo', 'settled late');
      await waitFor(() => oom, { description: 'Redis out of memory while the handler runs' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await admin.exists(keys.result(handle.id))).toBe(0);
      expect(await admin.xlen(keys.stream)).toBe(1); // not acked: the run is not lost

      await admin.config('SET', 'maxmemory', '0');
      await expect(within(handle.result({ timeoutMs: 4_000 }), BOUND_MS, 'result after OOM')).resolves.toBe(
        'settled late',
      );
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

    /**
     * Empties Redis's script cache: the next EVALSHA of enqueue meets NOSCRIPT. (The workers'
     * own scripts, promote for one, may be loaded again at once, so only enqueue is checked.)
     */
    async function flushScripts(): Promise<void> {
      await admin.script('FLUSH');
      const enqueueSha = createHash('sha1').update(loadLuaSource('enqueue')).digest('hex');
      expect(await admin.script('EXISTS', enqueueSha)).toEqual([0]);
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

      // A settle whose script cache was flushed while its handler ran.
      const release = new Latch();
      app.probe.on('once', async (payload) => {
        await release.wait();
        return payload;
      });
      const settleAfterFlush = await client.enqueue('once', 'settle-after-flush');
      await waitFor(() => app.probe.runsOf('once').length === 1, { description: 'the once handler started' });
      await flushScripts();
      release.open();
      await expect(within(settleAfterFlush.result({ timeoutMs: 3_000 }), BOUND_MS, 'settle after flush')).resolves.toBe(
        'settle-after-flush',
      );

      // enqueueMany goes through a pipeline.
      await flushScripts();
      const many = await within(
        client.enqueueMany([
          { name: 'echo', payload: 'm1' },
          { name: 'echo', payload: 'm2', options: { key: 'many-key' } },
        ]),
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
      const keyed = await within(
        client.enqueue('flaky', 'retried', { key: 'flush-key' }),
        BOUND_MS,
        'keyed enqueue after flush',
      );
      await expect(within(keyed.result({ timeoutMs: 4_000 }), BOUND_MS, 'retried result after flush')).resolves.toBe(
        'retried',
      );
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
      // No 5 s wait before the first (diskless) full sync.
      primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
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

    it('enqueue, replace and cancel against a replica reject with READONLY, writing nothing', async () => {
      // A live keyed run, written on the primary and replicated: cancel and replace have work to do.
      const writer = await buildApp(testOptions(prefix, { connection: { url: primary.url }, worker: false }));
      await writer.init();
      await writer.moduleRef.get(QueueClient).enqueue('echo', 'live', { key: 'ro' });
      const primaryAdmin = createRedis({}, primary.url);
      expect(await primaryAdmin.wait(1, 2_000)).toBe(1);
      const before = await replicaAdmin.dbsize();
      const live = await replicaAdmin.hgetall(keys.keyState('ro'));
      expect(live.state).toBe('queued');

      const app = await buildApp(testOptions(prefix, { connection: { url: replica.url }, worker: false }));
      await app.init();
      const client = app.moduleRef.get(QueueClient);
      const calls: [string, () => Promise<unknown>][] = [
        ['enqueue', () => client.enqueue('echo', 1)],
        ['keyed enqueue of a new key', () => client.enqueue('echo', 1, { key: 'ro-new' })],
        ['delayed enqueue', () => client.enqueue('echo', 1, { delayMs: 10_000 })],
        ['enqueueMany', () => client.enqueueMany([{ name: 'echo', payload: 1 }])],
        ['replace', () => client.replace('echo', 2, { key: 'ro' })],
        ['cancel', () => client.cancel('ro')],
      ];
      for (const [what, call] of calls) {
        const error = await rejectionOf(call(), BOUND_MS, `${what} on a replica`);
        expect(error.message).toMatch(/READONLY/);
      }
      // Reads still work on a replica.
      await expect(client.status('ro')).resolves.toMatchObject({ state: 'queued', generation: 1 });
      expect(await replicaAdmin.dbsize()).toBe(before);
      expect(await replicaAdmin.hgetall(keys.keyState('ro'))).toEqual(live);
    });

    it('a worker pointed at a replica fails bootstrap with READONLY instead of hanging', async () => {
      const app = await buildApp(testOptions(prefix, { connection: { url: replica.url } }));
      const error = await rejectionOf(app.init(), BOUND_MS, 'worker bootstrap on a replica');
      expect(error.message).toMatch(/READONLY/);
    });
  });

  describe('a key of the wrong type where the stream should be', () => {
    let server: RedisServerHandle;
    let admin: Redis;
    const prefix = randomPrefix();
    const keys = new QueueKeys(prefix, 'default');

    beforeAll(async () => {
      server = await startRedisServer();
      admin = createRedis({}, server.url);
    });
    afterAll(async () => {
      await closeAll();
      await server.stop();
    });

    it('enqueue rejects with WRONGTYPE and leaves the foreign key as it was', async () => {
      await admin.set(keys.stream, 'not a stream');
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url }, worker: false }));
      await app.init();
      const error = await rejectionOf(
        app.moduleRef.get(QueueClient).enqueue('echo', 1),
        BOUND_MS,
        'enqueue onto a string key',
      );
      expect(error.message).toMatch(/WRONGTYPE/);
      expect(await admin.get(keys.stream)).toBe('not a stream');
    });

    // Failing the boot stopped every queue of the worker (test/attack/shared-read-wrong-type.spec.ts).
    it('a worker boots instead of hanging, and its reads of the queue fail with WRONGTYPE naming the key', async () => {
      await admin.set(keys.stream, 'not a stream');
      const logger = new RecordingLogger();
      const app = await buildApp(testOptions(prefix, { connection: { url: server.url } }), { logger });
      await within(app.init(), BOUND_MS, 'worker bootstrap onto a string key');
      await waitFor(() => logger.warnings().find((w) => w.includes('WRONGTYPE') && w.includes(keys.stream)), {
        description: 'a read failure naming the key',
      });
    });

    // Nest runs no destroy hook after a failed init: whatever the consumer started before the
    // failure must be stopped by the consumer itself, or the heartbeat thread keeps renewing a
    // liveness key for a worker that never consumes (and keeps the process from exiting). An
    // ACL refusing XGROUP fails the boot after the heartbeat started (creating the queue's group).
    // (A pause record that is not a hash did, until it held only its own queue paused:
    // test/attack/pause-boot-one-bad-record.spec.ts.)
    it('a failed bootstrap stops its heartbeat thread: the liveness key is not renewed after close', async () => {
      await admin.del(keys.stream);
      await admin.acl('SETUSER', 'default', '-xgroup');
      try {
        const app = await buildApp(
          testOptions(prefix, { connection: { url: server.url }, leaseMs: 300, heartbeatIntervalMs: 50 }),
        );
        const error = await rejectionOf(app.init(), BOUND_MS, 'worker bootstrap refused XGROUP');
        expect(error.message).toMatch(/NOPERM/);
        const consumer = app.moduleRef.get(ConsumerHost).consumerName;
        // Closing as an application does after a failed bootstrap (context.close()), without the
        // safety net of this spec's fixture.
        await closeModule(app.moduleRef);
        await new Promise((resolve) => setTimeout(resolve, 700)); // more than two leases
        const alive = await admin.exists(keys.alive(consumer));
        await app.close(); // the fixture's safety net, so Jest exits whatever the outcome
        expect(alive).toBe(0);
      } finally {
        await admin.acl('SETUSER', 'default', '+xgroup');
      }
    });
  });
});
