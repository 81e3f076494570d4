import type { Redis } from 'ioredis';
import { InvalidOptionError, RedriveRefusedError, TaskNotFoundError } from '../errors';
import type { RedriveAllResult } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { runScript } from '../redis/scripts';
import type { QueueInspector } from './queue-inspector';

const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
const REDRIVE_PAGE = 100;

type RedriveReply = [code: number, entryId: string, generation: number];

/** @internal One call of redrive.lua. */
export function callRedrive(
  redis: Redis,
  keys: QueueKeys,
  deadLetterId: string,
  taskId: string,
  key: string | undefined,
): Promise<RedriveReply> {
  const redisKeys = [keys.deadLetter, keys.stream, keys.result(taskId), keys.seq];
  if (key !== undefined) redisKeys.push(keys.keyState(key));
  return runScript<RedriveReply>(redis, 'redrive', redisKeys, [deadLetterId, taskId, key ?? '']);
}

/** @internal One call of purge-dead-letters.lua: the given entries, or all of them. */
export function callPurgeDeadLetters(redis: Redis, keys: QueueKeys, deadLetterIds: string[]): Promise<number> {
  return runScript<number>(redis, 'purge-dead-letters', [keys.deadLetter], deadLetterIds);
}

/** @internal Validates a dead-letter entry id (what listings return as `deadLetterId`). */
export function checkDeadLetterId(id: unknown, option = 'deadLetterId'): string {
  if (typeof id !== 'string' || !ENTRY_ID.test(id))
    throw new InvalidOptionError(option, 'a dead-letter entry id such as "1700000000000-0"', id);
  return id;
}

/**
 * @internal Dead-letter repairs. A redriven task keeps its id, its key and a fresh attempt
 * count; a keyed one only while its key has no newer run (see redrive.lua).
 */
export class DeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly inspector: QueueInspector,
  ) {}

  /** Redrives one dead letter; returns the stream entry id of the redriven task. */
  async redrive(keys: QueueKeys, deadLetterId: string): Promise<string> {
    const dead = await this.inspector.deadLetter(keys, deadLetterId);
    if (!dead) throw new TaskNotFoundError(keys.queue, deadLetterId, 'dead letter');
    if (!dead.id || !dead.name || dead.payload === undefined)
      throw new RedriveRefusedError(keys.queue, deadLetterId, 'not-a-task');
    const [code, entryId] = await callRedrive(this.redis, keys, deadLetterId, dead.id, dead.key);
    if (code === 1) return entryId;
    if (code === 0) throw new TaskNotFoundError(keys.queue, deadLetterId, 'dead letter');
    throw new RedriveRefusedError(keys.queue, deadLetterId, code === -1 ? 'not-a-task' : 'key-moved-on');
  }

  /** Redrives every dead letter that can be; the others stay, listed with why. */
  async redriveAll(keys: QueueKeys): Promise<RedriveAllResult> {
    const refused: RedriveAllResult['refused'][number][] = [];
    let redriven = 0;
    let after: string | undefined;
    for (;;) {
      // Oldest first, so redriven tasks run in the order they failed.
      const entries = await this.redis.xrange(keys.deadLetter, after ? `(${after}` : '-', '+', 'COUNT', REDRIVE_PAGE);
      for (const [deadLetterId] of entries) {
        try {
          await this.redrive(keys, deadLetterId);
          redriven++;
        } catch (error) {
          if (error instanceof RedriveRefusedError) refused.push({ deadLetterId, reason: error.reason });
          else if (!(error instanceof TaskNotFoundError)) throw error; // purged meanwhile: nothing to do
        }
      }
      if (entries.length < REDRIVE_PAGE) return { redriven, refused };
      after = entries[entries.length - 1][0];
    }
  }

  /** Purges the given dead letters (each must exist), or all of them; returns how many went. */
  async purge(keys: QueueKeys, deadLetterIds?: readonly string[]): Promise<number> {
    if (deadLetterIds === undefined) return callPurgeDeadLetters(this.redis, keys, []);
    if (!Array.isArray(deadLetterIds) || deadLetterIds.length === 0)
      throw new InvalidOptionError(
        'ids',
        'a non-empty array of dead-letter entry ids (omit it to purge all)',
        deadLetterIds,
      );
    const ids = deadLetterIds.map((id, i) => checkDeadLetterId(id, `ids[${i}]`));
    if (ids.length === 1) {
      const removed = await callPurgeDeadLetters(this.redis, keys, ids);
      if (removed === 0) throw new TaskNotFoundError(keys.queue, ids[0], 'dead letter');
      return removed;
    }
    return callPurgeDeadLetters(this.redis, keys, ids);
  }
}
