import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { execReplies } from '../redis/pipeline-replies';
import { pipelineGroups } from '../redis/topology';
import { PauseRefusedError } from '../errors/pause-refused.error';
import { pauseScript } from '../scripts/pause.script';

/** @internal One partition's pause record; version 0: the queue was never paused or resumed. */
export interface PauseRecord {
  readonly paused: boolean;
  readonly version: number;
  /**
   * The record's `version` is not one pause.lua writes (anyone can write it: `x`, `1.5`, `1e300`):
   * it reads as 0, and a record saying paused then holds the queue paused (newestRecord).
   */
  readonly unversioned?: boolean;
}

const NEVER: PauseRecord = { paused: false, version: 0 };

/** How often a call draws a new version when a partition held a newer one no later call wrote. */
const ATTEMPTS = 3;

/** The largest version a record holds (pause.lua): 2^53-1. */
const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * @internal pause() / resume(): partition 0 draws the call's version (pause.lua), then every other
 * partition takes the record unless a newer call wrote it first. Partition 0 orders concurrent
 * calls: once they all returned, every partition holds the state of the one that wrote partition
 * 0 last (a plain last-writer-wins per partition could end mixed: pause first on partition 0,
 * resume first on partition 1). A call that fails half-way leaves partition 0 newest, and readers
 * go by the newest record (newestRecord), so the queue is in the state it asked for; calling
 * again completes the other partitions.
 *
 * The version is drawn above every partition's record, read first: a partition 0 that lost its
 * record, now on a node whose clock is behind the one that wrote the others (cluster nodes'
 * clocks differ, a node's can go back across a restart), would draw one they refuse, leaving the
 * queue in the older state. A partition that still refuses is checked: if partition 0 holds a
 * newer version, a later call overtook this one and its state stands; if not, the record was
 * written outside the protocol meanwhile and the call draws again, then fails rather than resolve
 * with the queue not in its state.
 */
export async function writePause(redis: Redis, partitions: readonly QueueKeys[], paused: boolean): Promise<void> {
  const call = paused ? 'pause()' : 'resume()';
  const refusal = (keys: QueueKeys, version: number, reason: 'newer-record' | 'no-version-left') =>
    new PauseRefusedError(keys.queue, call, keys.partition, version, reason);
  let refused: PauseRefusedError | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const records = await readPauseRecords(redis, partitions);
    const floor = newestRecord(records).version;
    if (floor >= MAX_VERSION)
      throw refusal(partitions[records.findIndex((r) => r.version === floor)], floor, 'no-version-left');
    // Every partition's control channel checked before partition 0's write: one the caller may
    // not publish to would refuse its partition's call after it (pause.lua).
    const others = partitions.slice(1);
    const drawn = await pauseScript(partitions[0], { paused, version: 0, floor, others }).run(redis);
    if (drawn.outcome !== 'written') throw refusal(partitions[0], drawn.version, 'no-version-left');
    const replies = await Promise.all(
      others.map((keys) => pauseScript(keys, { paused, version: drawn.version }).run(redis)),
    );
    const at = replies.findIndex((r) => r.outcome !== 'written');
    if (at < 0) return;
    const [first] = await readPauseRecords(redis, partitions.slice(0, 1));
    if (first.version > drawn.version) return; // overtaken by a later call, whose state stands
    refused = refusal(partitions[at + 1], replies[at].version, 'newer-record');
  }
  throw refused;
}

/**
 * @internal The queue's state: its newest pause record. Every partition's record is read, not
 * only partition 0's, so a reader whose partition count differs from the writer's, or a record
 * left by a larger count, still agrees on the latest call (older records never outvote it).
 *
 * A record saying paused whose version is not one (unversioned) fails safe: the queue is paused,
 * whatever the other records say, until a pause() or resume() writes that partition again
 * (pause.lua counts its version as 0, so every call takes it). The state returned is then
 * unversioned too: its version, the newest valid one, orders nothing (PauseWatch opens such a
 * hold only on a poll that no longer reads it, never on a notice).
 */
export function newestRecord(records: readonly PauseRecord[]): PauseRecord {
  const newest = records.reduce((n, r) => (!r.unversioned && r.version > n.version ? r : n), NEVER);
  const held = records.some((r) => r.unversioned && r.paused);
  return held ? { paused: true, version: newest.version, unversioned: true } : newest;
}

/**
 * @internal The pause records of `partitions`, in order: one HMGET each, pipelined per slot group
 * (one round trip on one Redis, for any number of queues). The first that cannot be read fails it.
 */
export async function readPauseRecords(redis: Redis, partitions: readonly QueueKeys[]): Promise<PauseRecord[]> {
  const records = await readEachPauseRecord(redis, partitions);
  const failed = records.find((r): r is Error => r instanceof Error);
  if (failed) throw failed;
  return records as PauseRecord[];
}

/**
 * @internal As readPauseRecords, with each record's own error in its place (a key of another
 * type, its slot group's node down): the workers' poll reads every queue at once, and one record
 * it cannot read must not keep it from the others.
 */
export async function readEachPauseRecord(
  redis: Redis,
  partitions: readonly QueueKeys[],
): Promise<(PauseRecord | Error)[]> {
  const read = new Map<QueueKeys, PauseRecord | Error>();
  const groups = pipelineGroups(redis, [...partitions], (keys) => keys.pause);
  await Promise.all(
    groups.map(async (group) => {
      const pipeline = redis.pipeline();
      for (const keys of group) pipeline.hmget(keys.pause, 'paused', 'version');
      const replies = await execReplies(pipeline, group.length);
      group.forEach((keys, i) => {
        const [error, reply] = replies[i];
        if (error) return void read.set(keys, error);
        const [paused, version] = reply as [string | null, string | null];
        const stored = storedVersion(version);
        // No record at all (both fields absent) is NEVER's state, not an unversioned one.
        const unversioned = stored === undefined && (paused !== null || version !== null);
        read.set(
          keys,
          unversioned
            ? { paused: paused === '1', version: 0, unversioned }
            : { paused: paused === '1', version: stored ?? 0 },
        );
      });
    }),
  );
  return partitions.map((keys) => read.get(keys) ?? NEVER);
}

/**
 * A record's version as pause.lua writes it, an integer from 0 to 2^53-1; anything else (anyone
 * can write it: `1e300` would outvote every later call) is none (undefined), absent included.
 */
function storedVersion(text: string | null): number | undefined {
  const n = text !== null && /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}
