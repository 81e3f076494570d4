import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { describeLayout, PartitionLayoutError, StreamQueueError } from '../errors';
import { unwrittenLayout } from '../errors/partition-layout.error';
import { QueueKeys } from '../redis/keys';
import { RedisConnections } from '../redis/redis-connections';
import { layoutScript } from '../scripts/layout.script';
import { GROUP_READ_LIMIT } from '../scripts/queue-state.script';
import { partitionsOf, type StreamQueueConfig } from '../stream-queue.config';
import { CONSUMER_GROUP, STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { TaskRegistry } from '../task/task.registry';
import { dropGoneWaitingStates, RunningKeyState } from './gone-waiting-states';
import { layoutOf } from './layout-record';
import { QueuePartitions } from './queue-partitions';

/**
 * @internal Every queue's partitions as this process maps them, and the bootstrap step that makes
 * the count stored in Redis this process's count. Each partition records the count it belongs
 * to (layout.lua); writes that map a key to a partition check that record in the same script.
 *
 * Changing the count: every partition of both layouts is frozen in order (atomically: only if
 * it holds no task, and from then on it refuses every checked write), cleaned of key states
 * whose waiting run's message an operator deleted (gone-waiting-states.ts), then committed in reverse
 * order, so partition 0 holds the new count only once all do. A partition that still holds tasks
 * thaws what this process froze and fails bootstrap: nothing ever sits where the new mapping
 * would not look for it. A switch interrupted by a crash leaves partition 0 frozen; the next boot
 * with the target count finishes it, any other count refuses to boot. Processes booting at once
 * with the same count share the work: a partition frozen or committed by another passes, and a
 * frozen one goes back to the old count only when no process relies on it any more.
 */
@Injectable()
export class PartitionLayouts implements OnModuleInit {
  private readonly logger = new Logger('StreamQueue');
  private readonly byQueue = new Map<string, QueuePartitions>();

  constructor(
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly connections: RedisConnections,
    private readonly registry: TaskRegistry,
  ) {}

  /** The partitions of `queue` under this process's count (the seam for anything per partition). */
  partitionsOf(queue: string): QueuePartitions {
    let partitions = this.byQueue.get(queue);
    if (!partitions) {
      partitions = new QueuePartitions(this.config.prefix, queue, partitionsOf(this.config, queue));
      this.byQueue.set(queue, partitions);
    }
    return partitions;
  }

  /**
   * Before the application's own onModuleInit hooks (which may enqueue): the configured queues,
   * and on a worker those it consumes, get this process's count, or bootstrap fails. A producer
   * touches no queue it was not configured for (the scripts still check each write).
   */
  async onModuleInit(): Promise<void> {
    try {
      // The explorer ends late when a transient provider needs an instance: read its queues after.
      // Not a command before the bootstrap checked Redis: one it refuses gets no freeze.
      await Promise.all([this.connections.commandsReady(), this.registry.filled]);
    } catch (error) {
      // The discovery failed (a handler declared twice, an invalid option): Nest runs no shutdown
      // hook after a failed init, and the connections must not hold the process open. Or the
      // bootstrap did (Redis unreachable, or lacking a command), which suspended them already.
      this.connections.suspend(error);
      throw error;
    }
    const used = new Set(this.registry.queues());
    for (const queue of this.config.queues.keys()) {
      if (!used.has(queue) && this.registry.size > 0) {
        this.logger.warn(`Option queues.${queue}: no task of this application uses queue "${queue}".`);
      }
    }
    try {
      for (const queue of new Set([...this.config.queues.keys(), ...(this.config.worker ? used : [])])) {
        await this.adopt(queue, partitionsOf(this.config, queue));
      }
    } catch (error) {
      // Nest runs no shutdown hook after a failed bootstrap: the connections made for it stop,
      // not for good: init() again, once the operator fixed the layout, reconnects them.
      this.connections.suspend(error);
      throw error;
    }
  }

  /**
   * Makes `count` the stored count of `queue`, or throws PartitionLayoutError: also for a record
   * no version writes, which says no count to switch from (anyone can SET it). With `onlyLost`
   * (lost-layouts.ts: a running process records its count again), only a record still absent, or
   * a switch from it to `count` left unfinished, is changed: one a deploy wrote since the loss was
   * seen is left as it is (a switch from it would undo that deploy). Whether it changed the record.
   */
  async adopt(queue: string, count: number, onlyLost = false): Promise<boolean> {
    const redis = this.connections.commands;
    const key = new QueueKeys(this.config.prefix, queue).layout;
    const record = await redis.get(key);
    const stored = record ?? '1';
    if (stored === String(count)) return false;
    if (onlyLost && record !== null && record !== `1>${count}`) return false;
    const layout = layoutOf(stored);
    if (!layout) throw unwrittenLayout(queue, key, stored, count);
    if (layout.switching && layout.to !== count) {
      throw new PartitionLayoutError(
        queue,
        stored,
        count,
        `Queue "${queue}" has ${describeLayout(stored)}; this process uses ${count} (option queues.${queue}.partitions). ` +
          `Start a process with ${layout.to} partitions to finish it, then change the count again.`,
      );
    }
    const { from } = layout;
    // A lost record is given back absent by a failed switch, so it still reads as lost; so is one
    // another process's restore froze meanwhile (read here as '1>count'), which this switch joins
    // and may be the last to thaw.
    await this.switchCount(redis, queue, from, count, onlyLost);
    this.logger.log(`Queue "${queue}": partitions changed from ${from} to ${count}.`);
    return true;
  }

  private async switchCount(redis: Redis, queue: string, from: number, to: number, lost = false): Promise<void> {
    const keys = Array.from({ length: Math.max(from, to) }, (_, p) => new QueueKeys(this.config.prefix, queue, p));
    const step = (op: 'freeze' | 'commit' | 'thaw', k: QueueKeys, sequenceFloor?: number) =>
      layoutScript(k, { step: op, from, to, sequenceFloor, lost }).run(redis);
    // What this process relies on is thawed if it fails: what it froze, and what it found frozen
    // by another process booting with the same count (layout.lua gives a record back to the old
    // count only when none relies on it). A partition already committed is left as it is.
    const frozenHere: QueueKeys[] = [];
    for (const [p, k] of keys.entries()) {
      const { outcome, record, groups } = await step('freeze', k);
      if (outcome === 'done' || (outcome === 'already' && record !== String(to))) frozenHere.push(k);
      if (outcome === 'done' || outcome === 'already') continue;
      for (const frozen of frozenHere.reverse()) await step('thaw', frozen);
      if (outcome === 'too-many-groups') throw tooManyGroups(queue, p, from, to, groups ?? 0);
      throw new PartitionLayoutError(
        queue,
        outcome === 'not-empty' ? String(from) : record,
        to,
        outcome === 'not-empty'
          ? `Queue "${queue}" is stored with ${from} partition${from === 1 ? '' : 's'} and cannot change to ${to} ` +
              `(option queues.${queue}.partitions): partition ${p} still holds tasks (queued, running, delayed, ` +
              `dead-lettered, waiting for a flow slot, or a group's rate token still in its window). Let workers with ` +
              `${from} drain the queue (or keep ${from}), then start this process again.`
          : `Queue "${queue}": partition ${p} has ${describeLayout(record)}, not the ${from} this process read ` +
              `when it began changing the count to ${to} (option queues.${queue}.partitions): another process ` +
              `changed the layout meanwhile. Start this process again.`,
      );
    }
    // A key state waiting for a message an operator deleted would stay without a TTL where no
    // enqueue of its key comes any more: dropped while every partition is frozen, so a switch
    // finished after a crash drops them too. Best effort: a user whose ACL refuses SCAN (or a
    // failure here) keeps them, as before, and the switch goes on.
    // A key state still holding a running run (its stream purged under it) thaws the switch: the
    // key's next enqueue would go to its new partition and run beside it.
    await dropGoneWaitingStates(redis, keys, from, to).then(
      (dropped) => {
        if (dropped > 0)
          this.logger.log(`Queue "${queue}": dropped ${dropped} key state(s) whose waiting run's message was deleted.`);
      },
      async (error: Error) => {
        if (error instanceof RunningKeyState) {
          for (const frozen of frozenHere.reverse()) await step('thaw', frozen);
          throw new PartitionLayoutError(
            queue,
            String(from),
            to,
            `Queue "${queue}" is stored with ${from} partition${from === 1 ? '' : 's'} and cannot change to ${to} ` +
              `(option queues.${queue}.partitions): partition ${error.partition} still holds a running run whose ` +
              `stream entry was purged (key state ${JSON.stringify(error.keyState)}). Let it finish (or cancel its key ` +
              `once its worker is gone), then start this process again.`,
          );
        }
        this.logger.warn(
          `Queue "${queue}": key states whose waiting run's message was deleted were not looked for while the count changed (${error.message}).`,
        );
      },
    );
    // A key moved to another partition must not draw a lower generation or fence there than it
    // drew where it was: every partition's sequence is raised to the highest once all are frozen
    // (no checked write draws from a frozen partition; the periodic chains that stay in
    // partition 0 never move).
    const sequences = await Promise.all(keys.map((k) => redis.get(k.seq)));
    const floor = Math.max(0, ...sequences.map((s) => Number(s ?? 0) || 0));
    for (const k of [...keys].reverse()) {
      const { outcome, record } = await step('commit', k, floor);
      if (outcome !== 'done') {
        throw new PartitionLayoutError(
          queue,
          record,
          to,
          `Queue "${queue}": another process changed partition ${k.partition}'s layout (${describeLayout(record)}) ` +
            `while this one changed the count to ${to}; start one process at a time with the new count.`,
        );
      }
    }
  }
}

/** The freeze of partition `p` did not read its stream, of `groups` consumer groups (layout.lua). */
function tooManyGroups(queue: string, p: number, from: number, to: number, groups: number): StreamQueueError {
  return new StreamQueueError(
    'TOO_MANY_GROUPS',
    `Queue "${queue}" cannot change from ${from} to ${to} partitions (option queues.${queue}.partitions): ` +
      `partition ${p}'s stream has ${groups} consumer groups, more than ${GROUP_READ_LIMIT}, so whether it still ` +
      `holds tasks is not read (finding the workers' group "${CONSUMER_GROUP}" reads every group). The library ` +
      `makes only that one: remove the others (XGROUP DESTROY), then start this process again.`,
  );
}
