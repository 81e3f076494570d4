import type { Redis } from 'ioredis';
import { entryIdRange } from '../../lib/redis/entry-id';
import { QueueKeys } from '../../lib/redis/keys';
import { defineScripts, runScript, type ScriptName } from '../../lib/redis/scripts';
import { CONSUMER_GROUP } from '../../lib/stream-queue.constants';
import { cleanupPrefix, createRedis, randomPrefix } from '../utils/redis';

export const GROUP = CONSUMER_GROUP;
export const LEASE_MS = 60_000;

/** Hand-built queue state for script specs: a stream with its group, scripts registered. */
export class ScriptFixture {
  readonly prefix = randomPrefix();
  readonly keys = new QueueKeys(this.prefix, 'q');
  readonly redis: Redis = createRedis();

  async setUp(): Promise<this> {
    defineScripts(this.redis);
    await this.redis.xgroup('CREATE', this.keys.stream, GROUP, '0', 'MKSTREAM');
    return this;
  }

  tearDown(): Promise<number> {
    return cleanupPrefix(this.redis, this.prefix);
  }

  run<T = unknown>(name: ScriptName, keys: string[], args: (string | number)[]): Promise<T> {
    return runScript<T>(this.redis, name, keys, args);
  }

  /** Enqueues through the real script; returns [task id, generation, created]. */
  enqueue(opts: { id?: string; key?: string; delayMs?: number; mode?: 'add' | 'replace'; name?: string } = {}) {
    const id = opts.id ?? `t-${Math.random().toString(36).slice(2)}`;
    const base = [id, opts.name ?? 'job', '{"n":1}', opts.delayMs ?? 0, 0, opts.mode ?? 'add'];
    return opts.key === undefined
      ? this.run<[string, number, number, string, string]>(
          'enqueue',
          [this.keys.stream, this.keys.delayed],
          [...base, '', this.keys.controlChannel],
        )
      : this.run<[string, number, number, string, string]>(
          'enqueue',
          [this.keys.stream, this.keys.delayed, this.keys.keyState(opts.key), this.keys.seq],
          [...base, opts.key, this.keys.controlChannel, 0, '0', this.keys.doneChannel],
        );
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
    runs: Array<{ entryId: string; id: string; gen?: number; key?: string; result?: string; successor?: string }>,
  ) {
    const keys = [this.keys.stream, this.keys.delayed, this.keys.seq];
    const [low, high] = entryIdRange(runs.map((r) => r.entryId));
    const args: (string | number)[] = [
      GROUP,
      consumer,
      this.keys.doneChannel,
      LEASE_MS,
      low,
      high,
      this.keys.resultPrefix,
      LEASE_MS,
    ];
    const encoded = runs.map((r) => {
      if (r.key !== undefined) keys.push(this.keys.keyState(r.key));
      const result = r.result ?? '{"ok":true,"value":1}';
      return r.key === undefined
        ? [r.entryId, r.id, result]
        : [r.entryId, r.id, result, { g: r.gen ?? 0, k: 1, t: LEASE_MS, s: r.successor || undefined }];
    });
    args.push(JSON.stringify(encoded));
    return this.run<number[]>('complete', keys, args);
  }

  /** fail.lua with a retry after `retryDelayMs`, or a dead letter when it is -1. */
  fail(
    consumer: string,
    r: { entryId: string; id: string; gen?: number; key?: string; retryDelayMs: number; attempt?: number },
  ) {
    const keys = [this.keys.stream, this.keys.delayed, this.keys.deadLetter, this.keys.result(r.id)];
    if (r.key !== undefined) keys.push(this.keys.keyState(r.key), this.keys.seq);
    const fields = ['id', r.id, 'n', 'job', 'p', '{}', 'a', String(r.attempt ?? 2)];
    if (r.key !== undefined) fields.push('k', r.key, 'g', String(r.gen ?? 0));
    return this.run<number>('fail', keys, [
      GROUP,
      consumer,
      this.keys.doneChannel,
      LEASE_MS,
      r.entryId,
      r.retryDelayMs,
      LEASE_MS,
      '{"ok":false,"error":{"name":"Error","message":"x"}}',
      'boom',
      100,
      '',
      ...fields,
    ]);
  }

  /** claim.lua's codes (1 run, 0 stale, 2 deferred, -1 not ours); `claimWithFences` also returns the fences. */
  async claim(
    consumer: string,
    runs: Array<{ entryId: string; id?: string; key?: string; gen?: number }>,
    deferMs = 50,
  ): Promise<number[]> {
    return (await this.claimWithFences(consumer, runs, deferMs))[0];
  }

  async claimWithFences(
    consumer: string,
    runs: Array<{ entryId: string; id?: string; key?: string; gen?: number }>,
    deferMs = 50,
  ): Promise<[number[], number[]]> {
    // A run's task id defaults to what the key state names (the id check is not under test there).
    const ids = await Promise.all(
      runs.map(async (r) => r.id ?? (r.key === undefined ? '' : ((await this.keyState(r.key)).id ?? ''))),
    );
    return this.run<[number[], number[]]>(
      'claim',
      [
        this.keys.stream,
        this.keys.delayed,
        this.keys.seq,
        ...runs.filter((r) => r.key !== undefined).map((r) => this.keys.keyState(r.key!)),
      ],
      [
        GROUP,
        consumer,
        deferMs,
        LEASE_MS,
        this.keys.doneChannel,
        ...runs.flatMap((r, i) => [r.entryId, ids[i], r.gen ?? 0, r.key === undefined ? '0' : '1']),
      ],
    );
  }

  /** dead-letter.lua for an entry `consumer` holds; `id`/`key` name the keys its fields name. */
  deadLetter(consumer: string, entryId: string, reason: string, names: { id?: string; key?: string } = {}) {
    const keys = [this.keys.stream, this.keys.deadLetter, this.keys.delayed, this.keys.seq];
    if (names.id !== undefined) keys.push(this.keys.result(names.id));
    if (names.key !== undefined) keys.push(this.keys.keyState(names.key));
    return this.run<number>('dead-letter', keys, [
      GROUP,
      consumer,
      entryId,
      reason,
      100,
      this.keys.doneChannel,
      LEASE_MS,
      LEASE_MS,
      '{"ok":false,"error":{"name":"DeadLetter","message":"x"}}',
      names.id ?? '',
      names.key ?? '',
    ]);
  }

  /** reclaim.lua by `consumer` of candidates [entry id, owner judged dead]: {claimed, poison, dropped}. */
  reclaim(consumer: string, candidates: Array<[entryId: string, owner: string]>, maxDeliveries = 5) {
    return this.run<[Array<[string, string[], number]>, Array<[string, string[], number]>, number]>(
      'reclaim',
      [this.keys.stream, ...candidates.map(([, owner]) => this.keys.alive(owner))],
      [GROUP, consumer, maxDeliveries, ...candidates.flat()],
    );
  }

  /** cancel.lua on `key`: 1 cancelled, 0 nothing live. */
  cancel(key: string, stateTtlMs = LEASE_MS): Promise<number> {
    return this.run<number>(
      'cancel',
      [this.keys.stream, this.keys.delayed, this.keys.keyState(key), this.keys.seq],
      [stateTtlMs, this.keys.controlChannel, key, this.keys.doneChannel],
    );
  }

  keyState(key: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.keyState(key));
  }
}

export function toRecord(fields: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  return record;
}
