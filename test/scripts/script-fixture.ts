import type { Redis } from 'ioredis';
import { unpackedFields } from '../../lib/task/packed-fields';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts } from '../../lib/redis/scripts';
import { sendCancel } from '../../lib/client/send-cancel';
import { claimScript } from '../../lib/scripts/claim.script';
import { sendClaim } from '../../lib/consumer/send-claim';
import { completeScript } from '../../lib/scripts/complete.script';
import { deadLetterScript, type SuccessorTiming } from '../../lib/scripts/dead-letter.script';
import { dropConsumerScript } from '../../lib/scripts/drop-consumer.script';
import { enqueueFlowScript, type FlowLimits } from '../../lib/scripts/enqueue-flow.script';
import type { EnqueueCall, EnqueueReply } from '../../lib/client/enqueue-call';
import { sendEnqueue } from '../../lib/client/enqueue-script';
import { failScript } from '../../lib/scripts/fail.script';
import { promoteDue } from '../../lib/scripts/promote.script';
import { reclaimScript } from '../../lib/scripts/reclaim.script';
import { recoverScript } from '../../lib/scripts/recover.script';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { cleanupPrefix, createRedis, randomPrefix } from '../utils/redis';
import { DECLARED_KEYS_RCALL } from './declared-keys';

export const GROUP = CONSUMER_GROUP;
export const LEASE_MS = 60_000;

/**
 * Registers the scripts on `redis` with the checking rcall (see declared-keys.ts): a script
 * that touches a key it did not declare in KEYS fails.
 */
export function defineCheckedScripts(redis: Redis): void {
  defineScripts(redis, { replace: { rcall: DECLARED_KEYS_RCALL } });
}

/** Limits of 'job' with rates only: `rate` (rateLimit) and `groupRate` (groupRateLimit), no slot limit. */
export function rateLimits(rate?: FlowLimits['rate'], groupRate?: FlowLimits['groupRate']): FlowLimits {
  return { global: 0, group: 0, agingMs: 1000, rate, groupRate };
}

/**
 * Hand-built queue state for script specs: a stream with its group, scripts registered (with
 * the declared-keys check). Every call goes through the scripts' typed wrappers.
 */
export class ScriptFixture {
  readonly prefix = randomPrefix();
  readonly keys = new QueueKeys(this.prefix, 'q');
  readonly redis: Redis;

  /** `url`: a Redis of the spec's own (default: the shared test Redis). */
  constructor(url?: string) {
    this.redis = createRedis({}, url);
  }

  async setUp(): Promise<this> {
    defineCheckedScripts(this.redis);
    await this.redis.xgroup('CREATE', this.keys.stream, GROUP, '0', 'MKSTREAM');
    return this;
  }

  tearDown(): Promise<number> {
    return cleanupPrefix(this.redis, this.prefix);
  }

  /** Enqueues through the real script: [task id, generation, outcome]. */
  async enqueue(
    opts: {
      id?: string;
      key?: string;
      delayMs?: number;
      mode?: 'add' | 'replace';
      name?: string;
      everyMs?: number;
      periodic?: boolean;
    } = {},
  ): Promise<[id: string, generation: number, outcome: EnqueueReply['outcome']]> {
    const call: EnqueueCall = {
      name: opts.name ?? 'job',
      queue: this.keys.queue,
      keys: this.keys,
      payload: '{"n":1}',
      delayMs: opts.delayMs ?? 0,
      runAt: 0,
      partitions: 1,
      mode: opts.mode ?? 'add',
      key: opts.key,
      everyMs: opts.everyMs ?? 0,
      periodic: opts.periodic ?? false,
    };
    // As the client sends it: once more when enqueue.lua asks for an owner's lease.
    const id = opts.id ?? `t-${Math.random().toString(36).slice(2)}`;
    const reply = await sendEnqueue(call, (script) => script.run(this.redis), id);
    return [reply.id, reply.generation, reply.outcome];
  }

  /**
   * Enqueues a task of 'job' under flow control through the real script, in `group` ('' is the
   * ungrouped group): its id, and its stream entry when admitted at once.
   */
  async enqueueFlow(
    id: string,
    limits: FlowLimits,
    group = '',
    name = 'job',
  ): Promise<{ id: string; entryId?: string }> {
    const reply = await enqueueFlowScript(this.keys, {
      id,
      name,
      payload: '{}',
      delayMs: 0,
      runAt: 0,
      group: group || undefined,
      limits,
    }).run(this.redis);
    return reply as { id: string; entryId?: string };
  }

  /** Delivers up to `count` new entries to `consumer`: [entry id, fields as a record]. */
  async deliver(consumer: string, count = 100): Promise<Array<[string, Record<string, string>]>> {
    const reply = (await this.redis.xreadgroup(
      'GROUP',
      GROUP,
      consumer,
      'COUNT',
      count,
      'STREAMS',
      this.keys.stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    return (reply?.[0]?.[1] ?? []).map(([id, fields]) => [id, toRecord(fields)]);
  }

  /** Marks `consumer` alive, as its heartbeat would. */
  alive(consumer: string, ttlMs = LEASE_MS): Promise<unknown> {
    return this.redis.set(this.keys.alive(consumer), '1', 'PX', ttlMs);
  }

  async pendingOwner(entryId: string): Promise<string | undefined> {
    const rows = (await this.redis.xpending(this.keys.stream, GROUP, entryId, entryId, 1)) as [string, string][];
    return rows[0]?.[1];
  }

  complete(
    consumer: string,
    runs: Array<{
      entryId: string;
      id: string;
      gen?: number;
      key?: string;
      result?: string;
      successor?: string;
      flow?: boolean;
    }>,
    stateTtlMs = LEASE_MS,
    on: Redis = this.redis,
  ) {
    return completeScript(this.keys, {
      group: GROUP,
      consumer,
      stateTtlMs,
      defaultResultTtlMs: stateTtlMs,
      runs: runs.map((r) => ({
        entryId: r.entryId,
        taskId: r.id,
        result: r.result ?? '{"ok":true,"value":1}',
        key: r.key,
        generation: r.gen ?? 0,
        resultTtlMs: stateTtlMs,
        keepResult: false,
        successor: r.successor ?? '',
        flow: r.flow,
      })),
    }).run(on);
  }

  /**
   * Reads and completes what is admitted, as `consumer`, one delivery after another, for `rounds`
   * reads (a completion may admit the next waiting task): the task ids, in the order they ran.
   */
  async runAdmitted(consumer: string, rounds = 3): Promise<string[]> {
    const ran: string[] = [];
    for (let round = 0; round < rounds; round++)
      for (const [entryId, fields] of await this.deliver(consumer)) {
        ran.push(fields.id);
        await this.complete(consumer, [{ entryId, id: fields.id, flow: true }]);
      }
    return ran;
  }

  /** fail.lua with a retry after `retryDelayMs`, or a dead letter when it is -1. */
  fail(
    consumer: string,
    r: { entryId: string; id: string; gen?: number; key?: string; retryDelayMs: number; attempt?: number },
  ) {
    return failScript(this.keys, {
      group: GROUP,
      consumer,
      stateTtlMs: LEASE_MS,
      entryId: r.entryId,
      retryInMs: r.retryDelayMs < 0 ? undefined : r.retryDelayMs,
      resultTtlMs: LEASE_MS,
      failure: '{"ok":false,"error":{"name":"Error","message":"x"}}',
      deadLetterReason: 'boom',
      deadLetterMaxLen: 100,
      successor: '',
      task: {
        id: r.id,
        name: 'job',
        payload: '{}',
        attempt: r.attempt ?? 2,
        key: r.key,
        generation: r.gen ?? 0,
        keepResult: false,
      },
    }).run(this.redis);
  }

  /**
   * claim.lua's verdicts ('run', 'stale', 'deferred', 'not-ours', 'unproven'); `claimWithFences`
   * returns them whole. `liveness`: the value `consumer` knows as its own liveness value; by
   * default the one its key holds now ('' when gone), as a worker whose beats were confirmed.
   */
  async claim(
    consumer: string,
    runs: Array<{ entryId: string; id?: string; key?: string; gen?: number }>,
    deferMs = 50,
    liveness?: string,
  ): Promise<string[]> {
    return (await this.claimWithFences(consumer, runs, deferMs, liveness)).map((v) => v.verdict);
  }

  async claimWithFences(
    consumer: string,
    runs: Array<{ entryId: string; id?: string; key?: string; gen?: number }>,
    deferMs = 50,
    liveness?: string,
  ) {
    // One that is no string (a spec makes it a hash) is passed as none.
    const own = liveness ?? (await this.redis.get(this.keys.alive(consumer)).catch(() => null)) ?? '';
    // A run's task id defaults to what the key state names (the id check is not under test there).
    const ids = await Promise.all(
      runs.map(async (r) => r.id ?? (r.key === undefined ? '' : ((await this.keyState(r.key)).id ?? ''))),
    );
    // As the worker sends it: once more when claim.lua asks for an owner's lease.
    return sendClaim(this.redis, this.keys, {
      group: GROUP,
      consumer,
      deferMs,
      stateTtlMs: LEASE_MS,
      liveness: own,
      messages: runs.map((r, i) => ({ entryId: r.entryId, taskId: ids[i], generation: r.gen ?? 0, key: r.key })),
    });
  }

  /** claim.lua of one rated flow run by `consumer`, gated by `ownLimits` (else the recorded rates): its verdict whole. */
  claimRated(consumer: string, entryId: string, taskId: string, ownLimits?: FlowLimits) {
    return claimScript(this.keys, {
      group: GROUP,
      consumer,
      deferMs: 50,
      stateTtlMs: LEASE_MS,
      messages: [{ entryId, taskId, generation: 0, key: undefined, rated: true, ownLimits }],
    }).run(this.redis);
  }

  /** Rewrites waiting task `id`'s room member with fields that do not decode (none enqueue-flow.lua writes). */
  async garbleWaitingMember(id: string): Promise<void> {
    const [member] = (await this.redis.zrange(this.keys.flow.room, 0, -1)).filter((m) => m.includes(`\0${id}\0`));
    const fieldsAt = member.indexOf(`\0${id}\0`) + id.length + 2;
    await this.redis
      .multi()
      .zrem(this.keys.flow.room, member)
      .zadd(this.keys.flow.room, 0, `${member.slice(0, fieldsAt)}{not json`)
      .exec();
  }

  /**
   * A flow entry of task 'job' as a foreign producer wrote it (fields fl and gr, `group` as given,
   * NULs and all), read by consumer 'a' and dead-lettered: returns its dead letter's id, for a
   * redrive to put it through admission with that group.
   */
  async deadLetteredForeignFlowEntry(id: string, group: string): Promise<string> {
    const fields = ['id', id, 'n', 'job', 'p', '{}', 'a', '1', 'fl', '1', 'gr', group];
    const entryId = (await this.redis.xadd(this.keys.stream, '*', ...fields))!;
    await this.deliver('a');
    if ((await this.deadLetter('a', entryId, 'poison', { id })) !== 'dead-lettered')
      throw new Error(`entry ${entryId} was not dead-lettered`);
    const letters = await this.redis.xrange(this.keys.deadLetter, '-', '+');
    return letters[letters.length - 1][0];
  }

  /**
   * dead-letter.lua for an entry `consumer` holds; `id`/`key` name the keys its fields name, and
   * `timing` is a periodic successor's timing as the dead-lettering worker would send it. Sent
   * `on` the fixture's connection unless given another (a worker's user).
   */
  deadLetter(
    consumer: string,
    entryId: string,
    reason: string,
    names: { id?: string; key?: string; timing?: SuccessorTiming } = {},
    on: Redis = this.redis,
  ) {
    return deadLetterScript(this.keys, {
      group: GROUP,
      consumer,
      entryId,
      reason,
      deadLetterMaxLen: 100,
      stateTtlMs: LEASE_MS,
      resultTtlMs: LEASE_MS,
      failure: '{"ok":false,"error":{"name":"DeadLetter","message":"x"}}',
      taskId: names.id,
      key: names.key,
      timing: names.timing,
    }).run(on);
  }

  /** reclaim.lua by `consumer` of candidates [entry id, owner judged dead]: {claimed, poison, dropped}. */
  reclaim(consumer: string, candidates: Array<[entryId: string, owner: string]>, maxDeliveries = 5) {
    return reclaimScript(this.keys, {
      group: GROUP,
      consumer,
      maxDeliveries,
      candidates: candidates.map(([entryId, owner]) => ({ entryId, owner })),
    }).run(this.redis);
  }

  /** recover.lua: the entries still pending under `consumer`. */
  recover(consumer: string, entryIds: string[]) {
    return recoverScript(this.keys, { group: GROUP, consumer, entryIds }).run(this.redis);
  }

  /** promote (read-due.lua, then promote.lua), on `redis` (default: the fixture's connection). */
  promote(redis: Redis = this.redis) {
    return promoteDue(redis, this.keys, { limit: 1000, deadLetterMaxLen: 100, stateTtlMs: LEASE_MS });
  }

  dropConsumer(consumer: string) {
    return dropConsumerScript(this.keys, { group: GROUP, consumer }).run(this.redis);
  }

  /** cancel.lua on `key`. */
  cancel(key: string, stateTtlMs = LEASE_MS) {
    return sendCancel(this.redis, this.keys, { key, stateTtlMs, partitions: 1 });
  }

  keyState(key: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.keyState(key));
  }
}

/** An entry's fields by name, as a reader takes them: a packed entry unpacked, the first value of a name winning. */
export function toRecord(raw: string[]): Record<string, string> {
  const fields = unpackedFields(raw);
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) if (!(fields[i] in record)) record[fields[i]] = fields[i + 1];
  return record;
}
