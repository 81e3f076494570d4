import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { execReplies } from '../redis/pipeline-replies';
import { pipelineGroups } from '../redis/topology';
import { pauseScript } from '../scripts/pause.script';

/** @internal One partition's pause record; version 0: the queue was never paused or resumed. */
export interface PauseRecord {
  readonly paused: boolean;
  readonly version: number;
}

const NEVER: PauseRecord = { paused: false, version: 0 };

/**
 * @internal pause() / resume(): partition 0 draws the call's version (pause.lua), then every other
 * partition takes the record unless a newer call wrote it first. Partition 0 orders concurrent
 * calls: once they all returned, every partition holds the state of the one that wrote partition
 * 0 last (a plain last-writer-wins per partition could end mixed: pause first on partition 0,
 * resume first on partition 1). A call that fails half-way leaves partition 0 newest, and readers
 * go by the newest record (newestRecord), so the queue is in the state it asked for; calling
 * again completes the other partitions.
 */
export async function writePause(redis: Redis, partitions: readonly QueueKeys[], paused: boolean): Promise<void> {
  const { version } = await pauseScript(partitions[0], { paused, version: 0 }).run(redis);
  await Promise.all(partitions.slice(1).map((keys) => pauseScript(keys, { paused, version }).run(redis)));
}

/**
 * @internal The queue's state: its newest pause record. Every partition's record is read, not
 * only partition 0's, so a reader whose partition count differs from the writer's, or a record
 * left by a larger count, still agrees on the latest call (older records never outvote it).
 */
export function newestRecord(records: readonly PauseRecord[]): PauseRecord {
  return records.reduce((newest, r) => (r.version > newest.version ? r : newest), NEVER);
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
        read.set(keys, { paused: paused === '1', version: storedVersion(version) });
      });
    }),
  );
  return partitions.map((keys) => read.get(keys) ?? NEVER);
}

/**
 * A record's version as pause.lua writes it, an integer from 0 to 2^53-1; anything else (anyone
 * can write it: `1e300` would outvote every later call) reads as 0, a record never written.
 */
function storedVersion(text: string | null): number {
  const n = text !== null && /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(n) ? n : 0;
}
