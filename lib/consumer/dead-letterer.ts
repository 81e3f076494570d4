import { deadLetterScript } from '../scripts/dead-letter.script';
import { unpackedFields } from '../task/packed-fields';
import { encodeFailure } from '../task/task-outcome';
import type { QueueContext } from './queue-context';

const MAX_KEY_LENGTH = 1024;

/**
 * @internal Dead-letters entries this consumer holds that must not run (malformed, past the
 * delivery limit) through dead-letter.lua: the one script that also ends a keyed run's state and
 * tells result() waiters, so every way a run can end makes the same key transition.
 */
export class DeadLetterer {
  constructor(private readonly ctx: QueueContext) {}

  /** Resolves true once dead-lettered; false when it failed or was refused (left pending). */
  async deadLetter(entryId: string, fields: string[] | null | undefined, reason: string): Promise<boolean> {
    const { keys, group, consumer, config, logger, queue, events } = this.ctx;
    const taskId = firstValue(fields, 'id');
    const rawKey = firstValue(fields, 'k');
    const key = rawKey !== undefined && rawKey.length > 0 && rawKey.length <= MAX_KEY_LENGTH ? rawKey : undefined;
    const name = firstValue(fields, 'n');
    try {
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
      }).run(this.ctx.redis);
      if (verdict !== 'dead-lettered') return false;
      events.emit({ type: 'dead-lettered', queue, taskId, name, key, detail: reason });
      logger.warn(`Stream entry ${entryId} on queue "${queue}" dead-lettered: ${reason}.`);
      return true;
    } catch (error) {
      // Left pending under this consumer: the sweep's recovery delivers it to us again.
      logger.warn(`Could not dead-letter entry ${entryId}: ${(error as Error).message}`);
      return false;
    }
  }
}

/**
 * The first value of a field, as the Lua side reads it (includes/dead-letter-entry.lua fieldOf,
 * over message.lua's entryFields: a packed entry unpacked).
 */
function firstValue(raw: string[] | null | undefined, name: string): string | undefined {
  if (!Array.isArray(raw)) return undefined;
  const fields = unpackedFields(raw);
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
