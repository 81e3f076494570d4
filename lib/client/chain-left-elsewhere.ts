import type { Logger } from '@nestjs/common';
import { quotedText } from '../quoted-text';

/** @internal Where schedule() put a key's chain, and the other queue a chain of it may be left on. */
export interface ChainLeftElsewhere {
  readonly key: string;
  readonly task: string;
  readonly scheduledOn: string;
  readonly queue: string;
}

/**
 * @internal schedule()'s second step on one other queue: ends the key's chain of the same task
 * left there, by `cancel` (cancel.lua, retried under the count Redis records when this process's
 * is stale for that queue: see QueueClient.cancelKey). It never throws: the new chain is already
 * in place, and a schedule() reported as failed would be believed absent (given up, alerted on)
 * while it runs. When the step fails (a change of the count under way, a record no version
 * writes, Redis refusing), a warning names the key and both queues: whether that queue holds a
 * chain is not known then.
 */
export async function endChainLeftElsewhere(
  chain: ChainLeftElsewhere,
  cancel: () => Promise<unknown>,
  logger: Logger,
): Promise<void> {
  try {
    await cancel();
  } catch (error) {
    logger.warn(
      `schedule() of key ${quotedText(chain.key, chain.key.length)} (task "${chain.task}") is in place on queue ` +
        `"${chain.scheduledOn}", but a chain of it left on queue "${chain.queue}" (if that queue holds one) ` +
        `could not be ended and would run beside it: ${(error as Error).message} Call schedule() again once that queue can be written ` +
        `(it ends the chain there), or unschedule the key with { queue: "${chain.queue}" }.`,
    );
  }
}
