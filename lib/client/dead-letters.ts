import type { Redis } from 'ioredis';
import { InvalidOptionError, RedriveRefusedError, TaskNotFoundError } from '../errors';
import type { DeadLetterBound, RedriveAllResult } from '../interfaces';
import { idAfter, parseEntryId } from '../redis/entry-id';
import type { QueueKeys } from '../redis/keys';
import { purgeDeadLettersScript } from '../scripts/purge-dead-letters.script';
import { partitionOfGroup } from '../partitions/queue-partitions';
import { redriveScript } from '../scripts/redrive.script';
import { isKey } from './enqueue-input';
import type { QueueInspector } from './queue-inspector';

const REDRIVE_PAGE = 100;

/** @internal What a redriveAll() did so far, updated as it goes. */
export interface RedriveAllProgress {
  redriven: number;
  refused: RedriveAllResult['refused'][number][];
}

/** @internal Nothing redriven yet. */
export function newProgress(): RedriveAllProgress {
  return { redriven: 0, refused: [] };
}

/** @internal Validates a dead-letter entry id (what listings return as `deadLetterId`). */
export function checkDeadLetterId(id: unknown, option = 'deadLetterId'): string {
  if (typeof id !== 'string' || !parseEntryId(id))
    throw new InvalidOptionError(option, 'a dead-letter entry id such as "1700000000000-0"', id);
  return id;
}

/**
 * @internal Validates `upTo` (a DeadLetterBound's) for a queue of `partitions`: an array of at most
 * that many entries, each a dead-letter entry id or null (the partition had none). A shorter
 * one leaves the partitions past it alone: they were added after the bound was read.
 */
export function checkBound(upTo: unknown, partitions: number): readonly (string | null)[] {
  const expected = `each partition's newest dead letter as deadLetterBound() read it (an array of at most ${partitions} entry ids or nulls)`;
  if (!Array.isArray(upTo) || upTo.length > partitions) throw new InvalidOptionError('upTo', expected, upTo);
  return Array.from(upTo, (id: unknown, i) =>
    id === null ? null : parseEntryId(checkDeadLetterId(id, `upTo[${i}]`))!,
  );
}

/**
 * @internal Dead-letter repairs. A redriven task keeps its id, its key and a fresh attempt
 * count; a keyed one only while its key has no newer run (see redrive.lua).
 */
export class DeadLetters {
  constructor(
    private readonly redis: Redis,
    private readonly inspector: QueueInspector,
    /** How long each call's answer is kept for a resend of it (includes/call-record.lua); 0 none. */
    private readonly recordMs: number,
  ) {}

  /**
   * Redrives one dead letter of a queue of `count` partitions; returns the stream entry id of
   * the redriven task, '' when a task under flow control waits for a slot (in the room). An
   * ungrouped flow task outside the ungrouped group's partition is refused where its task's
   * recorded limits there have a group limit (redrive.lua): it stays rather than run counted
   * apart from the group's runs.
   */
  async redrive(keys: QueueKeys, deadLetterId: string, count = 1): Promise<string> {
    const dead = await this.inspector.deadLetter(keys, deadLetterId);
    if (!dead) throw new TaskNotFoundError(keys.queue, deadLetterId, 'dead letter');
    // A dead letter is never changed in place (stream entries are not): what is checked here is what
    // the script redrives, which checks the id it holds is this one (and its bounds: redrive.lua).
    // A key no worker takes ('' or past 1024 characters: malformed to parseEntry) would be redriven
    // as a key (Lua reads '' as true): a key state nothing ends, and a task dead-lettered at once.
    if (!dead.id || !dead.name || dead.payload === undefined || (dead.key !== undefined && !isKey(dead.key)))
      throw new RedriveRefusedError(keys.queue, deadLetterId, 'not-a-task');
    const ungroupedElsewhere = keys.partition !== partitionOfGroup(undefined, count);
    const reply = await redriveScript(
      keys,
      { deadLetterId, taskId: dead.id, key: dead.key, ungroupedElsewhere },
      this.recordMs,
    ).run(this.redis);
    if (reply.outcome === 'redriven') return reply.entryId;
    if (reply.outcome === 'no-such-dead-letter') throw new TaskNotFoundError(keys.queue, deadLetterId, 'dead letter');
    throw new RedriveRefusedError(keys.queue, deadLetterId, reply.outcome);
  }

  /**
   * Redrives every dead letter of every partition that can be; the others stay, listed with why.
   * `done` is kept up to date as it goes (one redrive at a time): a caller that an error of Redis
   * stopped midway still reads what was redriven and refused before it (the CLI prints it).
   */
  async redriveAll(
    partitions: readonly QueueKeys[],
    done: RedriveAllProgress = newProgress(),
    upTo?: readonly (string | null)[],
  ): Promise<RedriveAllResult> {
    // Bounded by each partition's newest dead letter when the call starts (or `upTo`, checked by
    // checkBound: those the caller was shown, counted in its question): a task that fails again
    // during the call is dead-lettered under a newer id, and redriving it again would loop for as
    // long as a worker keeps up (read for all partitions first: a later partition's pass must not
    // take what failed there while an earlier one's ran).
    const newest =
      upTo ??
      (await Promise.all(
        partitions.map(async (keys) => (await this.redis.xrevrange(keys.deadLetter, '+', '-', 'COUNT', 1))[0]?.[0]),
      ));
    for (const [i, keys] of partitions.entries()) {
      const last = newest[i];
      if (last === undefined || last === null) continue;
      await this.redriveAllOf(keys, last, done, partitions.length);
    }
    return { redriven: done.redriven, refused: [...done.refused] };
  }

  private async redriveAllOf(keys: QueueKeys, newest: string, done: RedriveAllProgress, count: number): Promise<void> {
    let after: string | undefined;
    for (;;) {
      // Oldest first, so redriven tasks run in the order they failed.
      const start = after ? `(${after}` : '-';
      const entries = await this.redis.xrange(keys.deadLetter, start, newest, 'COUNT', REDRIVE_PAGE);
      for (const [deadLetterId] of entries) {
        try {
          await this.redrive(keys, deadLetterId, count);
          done.redriven++;
        } catch (error) {
          if (error instanceof RedriveRefusedError) done.refused.push({ deadLetterId, reason: error.reason });
          else if (!(error instanceof TaskNotFoundError)) throw error; // purged meanwhile: nothing to do
        }
      }
      after = entries[entries.length - 1]?.[0];
      if (entries.length < REDRIVE_PAGE || after === newest) return;
    }
  }

  /**
   * How many dead letters the partitions hold, and each one's newest: one transaction per
   * partition (XLEN and XREVRANGE read together, so the count is of those up to the newest).
   */
  async present(partitions: readonly QueueKeys[]): Promise<DeadLetterBound> {
    const read = await Promise.all(
      partitions.map(async (keys) => {
        const [len, last] = (await this.redis
          .multi()
          .xlen(keys.deadLetter)
          .xrevrange(keys.deadLetter, '+', '-', 'COUNT', 1)
          .exec())!.map(([error, value]) => {
          if (error) throw error;
          return value;
        }) as [number, [string, string[]][]];
        return { len, newest: last[0]?.[0] ?? null };
      }),
    );
    return { count: read.reduce((sum, r) => sum + r.len, 0), upTo: read.map((r) => r.newest) };
  }

  /**
   * Purges the dead letters up to `upTo` (checked by checkBound), in every partition (none of a
   * partition it has no id for): one dead-lettered since stays. Returns how many went.
   */
  async purgeUpTo(partitions: readonly QueueKeys[], upTo: readonly (string | null)[]): Promise<number> {
    const removed = await Promise.all(
      partitions.map((keys, i) => {
        const newest = upTo[i];
        if (newest === undefined || newest === null) return 0;
        return purgeDeadLettersScript(keys, [], this.recordMs, idAfter(newest) ?? '').run(this.redis);
      }),
    );
    return removed.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Purges each partition's own ids (none sent where it has none); `asked` are all the ids the
   * caller named: a single one must have been purged. Returns how many went.
   */
  async purgeEach(
    targets: readonly { keys: QueueKeys; ids: readonly string[] }[],
    asked: readonly string[],
  ): Promise<number> {
    const removed = await Promise.all(
      targets.map(({ keys, ids }) =>
        ids.length === 0 ? 0 : purgeDeadLettersScript(keys, ids, this.recordMs).run(this.redis),
      ),
    );
    const total = removed.reduce((sum, n) => sum + n, 0);
    if (asked.length === 1 && total === 0) throw new TaskNotFoundError(targets[0].keys.queue, asked[0], 'dead letter');
    return total;
  }

  /**
   * Purges the given dead letters (a single one must exist), or all of them, in every partition;
   * returns how many went. The ids are all checked before any partition is touched.
   */
  async purge(partitions: readonly QueueKeys[], deadLetterIds?: readonly string[]): Promise<number> {
    const queue = partitions[0].queue;
    let ids: string[] = [];
    if (deadLetterIds !== undefined) {
      if (!Array.isArray(deadLetterIds) || deadLetterIds.length === 0)
        throw new InvalidOptionError(
          'ids',
          'a non-empty array of dead-letter entry ids (omit it to purge all)',
          deadLetterIds,
        );
      // Every index, holes too (map skips them): a hole is refused as an id, as enqueueMany()'s items are.
      ids = Array.from(deadLetterIds, (id: unknown, i) => checkDeadLetterId(id, `ids[${i}]`));
    }
    // One script call per partition: a dead letter lives in its task's partition (its slot).
    const removed = await Promise.all(
      partitions.map((keys) => purgeDeadLettersScript(keys, ids, this.recordMs).run(this.redis)),
    );
    const total = removed.reduce((sum, n) => sum + n, 0);
    if (ids.length === 1 && total === 0) throw new TaskNotFoundError(queue, ids[0], 'dead letter');
    return total;
  }
}
