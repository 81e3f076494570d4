import { deadLetterScript, type SuccessorTiming } from '../scripts/dead-letter.script';
import { entryIdentity, firstValue } from '../task/entry-identity';
import { encodeFailure } from '../task/task-outcome';
import type { TaskDefinition } from '../task/task.registry';
import { logText } from './log-text';
import type { QueueContext } from './queue-context';
import { isRuntimeScheduleRun, NO_STORED_SCHEDULES, readStoredSchedules } from './stored-schedules';
import { isTaskChainRun, scheduleOf, timingIfComputable, type TimedRun } from './successor-timing';

/** A slot (field d) as the stream holds it: epoch ms, at most 16 digits (the year 10000 is 15). */
const SLOT = /^\d{1,16}$/;

/**
 * @internal Dead-letters entries this consumer holds that must not run (malformed, past the
 * delivery limit) through dead-letter.lua: the one script that also ends a keyed run's state and
 * tells result() waiters, so every way a run can end makes the same key transition.
 */
export class DeadLetterer {
  constructor(
    private readonly ctx: QueueContext,
    /** This worker's definition of a task name, if any: a `@Task` schedule's timing comes from it. */
    private readonly definitionOf: (name: string) => TaskDefinition | undefined = () => undefined,
  ) {}

  /** Resolves true once dead-lettered; false when it failed or was refused (left pending). */
  async deadLetter(entryId: string, raw: string[] | null | undefined, reason: string): Promise<boolean> {
    const { keys, group, consumer, config, logger, queue, events } = this.ctx;
    // Read as dead-letter.lua reads them (fieldOf over entryFields: a packed entry unpacked).
    const { fields, taskId, name, key } = entryIdentity(raw);
    try {
      const timing = await this.successorTiming(entryId, name, key, firstValue(fields, 'd'));
      const verdict = await deadLetterScript(keys, {
        group,
        consumer,
        entryId,
        reason,
        deadLetterMaxLen: config.deadLetterMaxLen,
        stateTtlMs: config.resultTtlMs,
        resultTtlMs: config.resultTtlMs,
        failure: encodeFailure({ name: 'DeadLetter', message: reason }),
        taskId,
        key,
        timing,
        // A resend of the call after a lost reply answers as the first execution did.
        recordMs: config.resultTtlMs,
      }).run(this.ctx.redis);
      if (verdict !== 'dead-lettered') return false;
      events.emit({ type: 'dead-lettered', queue, taskId, name, key, detail: reason });
      logger.warn(`Stream entry ${entryId} on queue "${queue}" dead-lettered: ${logText(reason)}.`);
      return true;
    } catch (error) {
      // Left pending under this consumer: the sweep's recovery delivers it to us again.
      logger.warn(`Could not dead-letter entry ${entryId}: ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * A periodic run's successor timing, as its settle would send it (settle-calls.ts), when this
   * worker has the schedule: a `@Task` schedule it defines on this queue, or a runtime schedule's
   * stored one. Without it dead-letter.lua times the successor from the key state alone, which a
   * cron past its stored fire times cannot do (see includes/successor.lua). A run of a `@Task`
   * chain this worker does not define here gets this worker's boot time instead, as its settle
   * would (settle-calls.ts): a chain a deploy dropped ends, unless a later boot defined it.
   */
  private async successorTiming(
    entryId: string,
    name: string | undefined,
    key: string | undefined,
    slot: string | undefined,
  ): Promise<SuccessorTiming | undefined> {
    if (name === undefined || key === undefined || slot === undefined || !SLOT.test(slot)) return undefined;
    const run: TimedRun = { entryId, name, key, dueAt: Number(slot) };
    // A failed read leaves the entry pending (caught by the caller): the next sweep retries it.
    const stored = isRuntimeScheduleRun(run)
      ? await readStoredSchedules(this.ctx.redis, this.ctx.keys, [run])
      : NO_STORED_SCHEDULES;
    const schedule = scheduleOf(this.ctx.queue, run, this.definitionOf(name), stored);
    const clock = this.ctx.redisClock;
    if (!schedule) return clock !== undefined && isTaskChainRun(run) ? { w: clock.startedAt } : undefined;
    return timingIfComputable(schedule, run, (message) => this.ctx.logger.warn(message), clock);
  }
}
