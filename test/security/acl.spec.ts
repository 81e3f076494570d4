import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type Redis from 'ioredis';
import { QueueClient, StreamQueueEvents, Task, type TaskContext } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { heldTaskIds, waitingTaskIds } from '../fixtures/flow-state';
import { buildApp, captureConsole, closeHostileApps, rejectionOf, within } from '../fixtures/hostile-tasks';
import { Probe } from '../fixtures/probe';
import { ProbeModule } from '../fixtures/probe.module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { startRedisServer, type RedisServerHandle } from '../utils/redis-server';
import { Latch } from '../utils/latch';
import { closeAll, createRedis, waitFor } from '../utils/redis';

/*
 * The least privilege the module needs: an ACL user limited to the queue's keys (`~{<prefix>:*`),
 * its channels (`&{<prefix>:*`) and README's commands runs a whole application, and is refused
 * everything of another prefix. Redis checks ACLs inside Lua scripts too, so a command a script
 * calls that is missing from the list shows up as a refusal in ACL LOG: the log must stay empty.
 */

/**
 * README's least-privilege command list (the `+<command>` rules of its `ACL SETUSER` block under
 * "Redis Cluster, Sentinel and key layout"): the user below is built from it, so a command the
 * module sends and README leaves out fails a scenario here, and README cannot drift from what
 * is tested.
 */
export function readmeAclCommands(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /```\nACL SETUSER <user> [^\n]*\n[\s\S]*?```/.exec(readme);
  if (!block) throw new Error("README has no 'ACL SETUSER <user> ...' block");
  return block[0]
    .split(/\s+/)
    .filter((rule) => rule.startsWith('+'))
    .map((rule) => rule.slice(1));
}

/** Redis commands (with a subcommand: 'xinfo|groups') named by a Lua script or include. */
function scriptCommands(): Map<string, string[]> {
  const dir = join(__dirname, '..', '..', 'lib', 'scripts');
  const files = [
    ...readdirSync(dir).map((f) => join(dir, f)),
    ...readdirSync(join(dir, 'includes')).map((f) => join(dir, 'includes', f)),
  ].filter((f) => f.endsWith('.lua'));
  const containers = new Set(['xinfo', 'xgroup', 'client', 'object', 'script', 'config', 'memory', 'acl']);
  // rcall('X', ...), pcall(rcall, 'X', ...), flowRead('<type>', 'X', ...): every way a script calls Redis.
  const call = /(?:rcall\(|pcall\(rcall,|flowRead\('[a-z]+',)\s*'([A-Za-z]+)'(?:\s*,\s*'([A-Za-z]+)')?/g;
  const found = new Map<string, string[]>();
  for (const file of files) {
    for (const [, command, sub] of readFileSync(file, 'utf8').matchAll(call)) {
      const name = command.toLowerCase();
      const full = containers.has(name) && sub ? `${name}|${sub.toLowerCase()}` : name;
      found.set(full, [...(found.get(full) ?? []), basename(file)]);
    }
  }
  return found;
}

const QUEUE_COMMANDS = readmeAclCommands();

/** Flow-controlled tasks, under a user with README's commands: slots, groups, a retry, a rate limit. */
@Injectable()
class AclFlowTasks {
  constructor(private readonly probe: Probe) {}

  @Task('acl.limited', {
    globalConcurrency: 1,
    groupConcurrency: 1,
    maxAttempts: 2,
    backoff: { type: 'fixed', delayMs: 20, jitter: false },
  })
  limited(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('acl.limited', payload, ctx);
  }

  @Task('acl.rated', { rateLimit: { max: 1, perMs: 300 }, groupRateLimit: { max: 1, perMs: 300 } })
  rated(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('acl.rated', payload, ctx);
  }
}

@Module({})
class AclFlowModule {}

/** The fixture tasks and the flow-controlled ones, all recording into `probe`. */
function withFlowTasks(probe: Probe): DynamicModule[] {
  const flow = { module: AclFlowModule, providers: [{ provide: Probe, useValue: probe }, AclFlowTasks] };
  return [ProbeModule.register(probe), flow];
}

const BOUND_MS = 5_000;

describe('a Redis ACL user limited to one prefix', () => {
  const prefix = `acl-${randomUUID().slice(0, 8)}`;
  const otherPrefix = `${prefix}-other`;
  const user = 'queue-app';
  const password = `acl-secret-${randomUUID()}`;
  const keys = new QueueKeys(prefix, 'default');
  let server: RedisServerHandle;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
    await admin.call(
      'ACL',
      'SETUSER',
      user,
      'reset',
      'on',
      `>${password}`,
      `~{${prefix}:*`,
      'resetchannels',
      `&{${prefix}:*`,
      '-@all',
      ...QUEUE_COMMANDS.map((c) => `+${c}`),
    );
  });
  beforeEach(async () => {
    await admin.call('ACL', 'LOG', 'RESET');
  });
  afterEach(closeHostileApps);
  afterAll(async () => {
    await closeAll();
    await server.stop();
  });

  const connection = () => ({ url: `redis://${user}:${password}@127.0.0.1:${server.port}` });
  // A short lease, so a consumer idle that long is dropped within the test.
  const appOptions = { leaseMs: 600, heartbeatIntervalMs: 100 };

  /** Every refusal Redis logged for the user since the last reset, as "reason context object". */
  async function refusals(): Promise<string[]> {
    const log = (await admin.call('ACL', 'LOG')) as unknown[][];
    return log.map((entry) => {
      const fields: Record<string, unknown> = {};
      for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = entry[i + 1];
      return `${fields.reason} ${fields.context} ${fields.object} (${fields.username})`;
    });
  }

  it('a worker and a producer run keyed, delayed, retried, replaced, cancelled and reclaimed tasks with nothing refused', async () => {
    const consoleCapture = captureConsole();
    try {
      const probe = new Probe();
      const logger = new RecordingLogger();
      const worker = await buildApp(testOptions(prefix, { ...appOptions, connection: connection() }), {
        probe,
        logger,
      });
      await worker.init();
      const producerApp = await buildApp(testOptions(prefix, { connection: connection(), worker: false }), { logger });
      await producerApp.init();
      const producer = producerApp.moduleRef.get(QueueClient);

      let failedOnce = false;
      probe.on('flaky', (payload) => {
        if (!failedOnce) {
          failedOnce = true;
          throw new Error('first attempt fails');
        }
        return payload;
      });
      const plain = await producer.enqueue('echo', 'plain');
      const keyed = await producer.enqueue('echo', 'keyed', { key: 'acl-key' });
      const delayed = await producer.enqueue('echo', 'delayed', { delayMs: 200 });
      const retried = await producer.enqueue('flaky', 'retried', { key: 'acl-retry' });
      const many = await producer.enqueueMany([
        { name: 'echo', payload: 'm1' },
        { name: 'echo', payload: 'm2', options: { key: 'acl-many' } },
      ]);
      await expect(
        within(
          Promise.all([plain, keyed, delayed, retried, ...many].map((h) => h.result({ timeoutMs: 4_000 }))),
          BOUND_MS,
          'results',
        ),
      ).resolves.toEqual(['plain', 'keyed', 'delayed', 'retried', 'm1', 'm2']);
      expect(probe.runsOf('flaky').map((r) => r.ctx.attempt)).toEqual([1, 2]);

      // replace and cancel of a delayed keyed run; status of both.
      await producer.enqueue('echo', 'v1', { key: 'acl-replace', delayMs: 5_000 });
      const replaced = await producer.replace('echo', 'v2', { key: 'acl-replace' });
      await expect(replaced.result({ timeoutMs: 3_000 })).resolves.toBe('v2');
      await producer.enqueue('echo', 'never', { key: 'acl-cancel', delayMs: 5_000 });
      await expect(producer.cancel('acl-cancel')).resolves.toBe(true);
      await expect(producer.status('acl-cancel')).resolves.toMatchObject({ state: 'cancelled' });
      await expect(producer.status('acl-replace')).resolves.toMatchObject({
        state: 'completed',
        generation: replaced.generation,
      });

      // The sweep's paths, on messages held by consumers that have no liveness key (dead workers):
      // one is reclaimed and run; one, delivered too often, is dead-lettered as poison; a dead
      // consumer holding nothing is dropped from the group; a malformed entry is dead-lettered.
      await worker.close(); // so the entries below are read by the "dead" consumer, not the worker
      const orphan = await producer.enqueue('echo', 'orphan');
      const poison = await producer.enqueue('echo', 'poison');
      await admin.xreadgroup('GROUP', 'workers', 'dead-consumer', 'COUNT', 10, 'STREAMS', keys.stream, '>');
      const poisonEntry = (await admin.xrange(keys.stream, '-', '+')).find(([, f]) => f.includes(poison.id))![0];
      for (let i = 0; i < 6; i++) await admin.xclaim(keys.stream, 'workers', 'dead-consumer', 0, poisonEntry); // delivery count 7
      await admin.xgroup('CREATECONSUMER', keys.stream, 'workers', 'dead-and-empty');
      const malformed = await admin.xadd(keys.stream, '*', 'junk', '1');
      const secondWorker = await buildApp(testOptions(prefix, { ...appOptions, connection: connection() }), {
        probe,
        logger,
      });
      await secondWorker.init();
      const events = secondWorker.moduleRef.get(StreamQueueEvents);
      await expect(within(orphan.result({ timeoutMs: 4_000 }), BOUND_MS, 'reclaimed result')).resolves.toBe('orphan');
      await waitFor(() => events.counters().reclaimed >= 1 && events.counters()['dead-lettered'] >= 2, {
        description: 'a reclaim and two dead letters',
      });
      const letters = (await admin.xrange(keys.deadLetter, '-', '+')).map(([, f]) => f.join(' '));
      expect(letters.some((l) => l.includes(poison.id))).toBe(true);
      expect(letters.some((l) => l.includes(String(malformed)))).toBe(true);
      await waitFor(
        async () =>
          !((await admin.xinfo('CONSUMERS', keys.stream, 'workers')) as unknown[][]).some((c) =>
            c.includes('dead-and-empty'),
          ),
        { description: 'the dead, empty consumer dropped from the group' },
      );
      await secondWorker.close();
      await producerApp.close();

      expect(await refusals()).toEqual([]);
      expect(logger.warnings().filter((w) => /NOPERM|no permissions/i.test(w))).toEqual([]);
      expect(consoleCapture.lines.filter((l) => /NOPERM|permission/i.test(l))).toEqual([]);
    } catch (error) {
      // A refusal is the usual cause of a failure here: name it.
      throw new Error(
        `${(error as Error).message}\nACL refusals: ${JSON.stringify(await refusals())}\nconsole: ${consoleCapture.lines.join('\n')}`,
      );
    } finally {
      consoleCapture.restore();
    }
  });

  it("every command a Lua script sends is in README's list", () => {
    const allowed = new Set(QUEUE_COMMANDS);
    const missing = [...scriptCommands()].filter(([command]) => !allowed.has(command));
    expect(missing.map(([command, files]) => `${command} (${[...new Set(files)].join(', ')})`)).toEqual([]);
  });

  it('flow control: limited tasks wait, retry, are removed and run, rated ones wait for their wake; nothing refused, no slot left counted', async () => {
    const consoleCapture = captureConsole();
    const probe = new Probe();
    const gate = new Latch();
    probe.on('acl.limited', async (payload, ctx) => {
      if (payload === 'block') await gate.wait();
      if (payload === 'fail-once' && ctx.attempt === 1) throw new Error('first attempt fails');
      return payload;
    });
    try {
      const logger = new RecordingLogger();
      const imports = withFlowTasks(probe);
      const worker = await buildApp(testOptions(prefix, { ...appOptions, connection: connection() }), {
        probe,
        logger,
        imports,
      });
      await worker.init();
      const producerApp = await buildApp(testOptions(prefix, { connection: connection(), worker: false }), {
        probe,
        logger,
        imports,
      });
      await producerApp.init();
      const producer = producerApp.moduleRef.get(QueueClient);

      // globalConcurrency 1: the blocked run holds the only slot, the others wait in the room.
      const held = await producer.enqueue('acl.limited', 'block', { group: 'a' });
      await waitFor(() => probe.runsOf('acl.limited').length === 1, { description: 'the held run' });
      const removed = await producer.enqueue('acl.limited', 'removed', { group: 'a' });
      const retried = await producer.enqueue('acl.limited', 'fail-once', { group: 'b', priority: 2 });
      const second = await producer.enqueue('acl.limited', 'second', { group: 'b' });
      const delayed = await producer.enqueue('acl.limited', 'delayed', { group: 'c', delayMs: 100 });
      await expect(producer.findTask(removed.id)).resolves.toMatchObject({ task: { waitingForSlot: true } });
      await producer.remove(removed.id);
      await producer.pause('default');
      await producer.resume('default');
      gate.open();
      // rateLimit 1 per 300 ms: the second waits in the room for its window's wake.
      const rated = [
        await producer.enqueue('acl.rated', 'r1', { group: 'r' }),
        await producer.enqueue('acl.rated', 'r2', { group: 'r' }),
      ];
      await expect(
        within(
          Promise.all([held, retried, second, delayed, ...rated].map((h) => h.result({ timeoutMs: 4_000 }))),
          BOUND_MS,
          'results',
        ),
      ).resolves.toEqual(['block', 'fail-once', 'second', 'delayed', 'r1', 'r2']);
      expect(
        probe
          .runsOf('acl.limited')
          .filter((r) => r.payload === 'fail-once')
          .map((r) => r.ctx.attempt),
      ).toEqual([1, 2]);
      expect(probe.runs.filter((r) => r.payload === 'removed')).toEqual([]);
      await worker.close();
      await producerApp.close();

      // Every slot given back: no task holds or waits, and no count stays above 0.
      expect(await heldTaskIds(admin, keys)).toEqual([]);
      expect(await waitingTaskIds(admin, keys)).toEqual([]);
      expect(Object.values(await admin.hgetall(keys.flow.count)).filter((n) => n !== '0')).toEqual([]);
      expect(await refusals()).toEqual([]);
      expect(logger.warnings().filter((w) => /NOPERM|no permissions/i.test(w))).toEqual([]);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\nACL refusals: ${JSON.stringify(await refusals())}\nflow counts: ${JSON.stringify(await admin.hgetall(keys.flow.count))}`,
      );
    } finally {
      consoleCapture.restore();
    }
  });

  it("the operator's reads (counts, inspect, every listing, findTask, events) with nothing refused", async () => {
    const worker = await buildApp(testOptions(prefix, { ...appOptions, connection: connection() }), {
      probe: new Probe(),
    });
    await worker.init();
    const client = worker.moduleRef.get(QueueClient);
    try {
      const done = await client.enqueue('echo', 'done');
      await done.result({ timeoutMs: 4_000 });
      await client.enqueue('echo', 'later', { delayMs: 60_000 });
      await admin.xadd(keys.stream, '*', 'junk', '1'); // a dead letter to list
      await waitFor(async () => (await client.counts()).deadLettered >= 1, { description: 'a dead letter' });
      await client.inspect();
      for (const state of ['queued', 'delayed', 'running', 'dead'] as const) await client.list(state);
      await client.findTask(done.id);
      const events = client.events().subscribe();
      await waitFor(async () => (await admin.exists(keys.eventsWatch)) === 1, { description: 'the watch' });
      events.unsubscribe();
    } finally {
      await worker.close();
    }
    expect(await refusals()).toEqual([]);
  });

  it('the same user is refused the keys and channels of another prefix', async () => {
    const asUser = createRedis({}, connection().url);
    const other = new QueueKeys(otherPrefix, 'default');
    await admin.xadd(other.stream, '*', 'id', 'x', 'n', 'echo', 'p', '1');
    await expect(asUser.xadd(other.stream, '*', 'id', 'y', 'n', 'echo', 'p', '1')).rejects.toThrow(/NOPERM/);
    await expect(asUser.xrange(other.stream, '-', '+')).rejects.toThrow(/NOPERM/);
    await expect(asUser.del(other.stream)).rejects.toThrow(/NOPERM/);
    await expect(asUser.set('plain-key', '1')).rejects.toThrow(/NOPERM/);
    await expect(asUser.publish(other.doneChannel, 'x')).rejects.toThrow(/NOPERM/);
    // A prefix that merely starts with the allowed one is another prefix: `{acl-x:` never matches `{acl-x-other:`.
    await expect(asUser.get(`{${otherPrefix}:default}:result:1`)).rejects.toThrow(/NOPERM/);
    // Commands outside the list are refused even on the user's own keys.
    await expect(asUser.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
    await expect(asUser.flushall()).rejects.toThrow(/NOPERM/);
    expect(await admin.xlen(other.stream)).toBe(1);
  });

  it('an app of another prefix under this user gets NOPERM on enqueue and bootstrap, and writes nothing', async () => {
    const producer = await buildApp(testOptions(otherPrefix, { connection: connection(), worker: false }));
    await producer.init();
    const client = producer.moduleRef.get(QueueClient);
    const before = await admin.dbsize();
    for (const [what, call] of [
      ['enqueue', () => client.enqueue('echo', 1)],
      ['keyed enqueue', () => client.enqueue('echo', 1, { key: 'k' })],
      ['status', () => client.status('k')],
    ] as const) {
      const error = await rejectionOf(call(), BOUND_MS, `${what} under another prefix`);
      expect(error.message).toMatch(/NOPERM|no permissions/i);
    }
    expect(await admin.dbsize()).toBe(before);
    const worker = await buildApp(testOptions(otherPrefix, { connection: connection() }));
    const error = await rejectionOf(worker.init(), BOUND_MS, 'worker bootstrap under another prefix');
    expect(error.message).toMatch(/NOPERM|no permissions/i);
  });
});
