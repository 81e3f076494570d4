import { MissingCommandError, RedisUnreachableError } from '../errors';
import { raceTimeout } from '../race-timeout';
import { redisAddress } from './connection-check';
import type { Topology } from './topology';

/** @internal Commands the module cannot work without (scripts, streams, pub/sub, transactions). */
export const REQUIRED_COMMANDS = [
  'eval',
  'evalsha',
  'xadd',
  'xreadgroup',
  'xgroup',
  'xack',
  'xpending',
  'xinfo',
  'xrange',
  'publish',
  'subscribe',
  'multi',
  'exec',
  'time',
] as const;

/**
 * @internal Bootstrap's check that every master offers the commands the module needs: a renamed
 * or disabled command (`rename-command EVALSHA ""`, scripting turned off by a provider) fails here
 * with MissingCommandError naming it, not later on every call. One COMMAND INFO per master. An ACL
 * that refuses COMMAND itself skips the check: the calls then fail with Redis's own NOPERM.
 * Each answer is awaited `timeoutMs` at most (an attempt's bound, connectTimeout): a Redis that
 * stopped answering after the ready check (frozen, or the connection gone half-open before the
 * reply watchdog starts) held bootstrap for good; it fails with RedisUnreachableError instead.
 */
export async function checkCommands(topology: Topology, timeoutMs: number): Promise<void> {
  await Promise.all(
    topology.masters().map(async (node) => {
      const address = redisAddress(node.options);
      let info: unknown[];
      try {
        info = (await raceTimeout(node.call('COMMAND', 'INFO', ...REQUIRED_COMMANDS), timeoutMs, () => {
          throw unanswered(address, timeoutMs);
        })) as unknown[];
      } catch (error) {
        if (error instanceof RedisUnreachableError) throw error;
        if (/NOPERM|unknown command/i.test(String((error as Error).message))) return;
        throw error;
      }
      const missing = REQUIRED_COMMANDS.find((_, i) => info[i] == null);
      if (missing) throw new MissingCommandError(missing, address);
    }),
  );
}

function unanswered(address: string, timeoutMs: number): RedisUnreachableError {
  const reason = `connected, but no answer to COMMAND INFO within ${timeoutMs} ms`;
  return new RedisUnreachableError(
    address,
    reason,
    `Redis at ${address} answered the ready check, then gave no answer to COMMAND INFO within ${timeoutMs} ms ` +
      `(connectTimeout; bootstrap's check of the commands the queue needs): a frozen server, or a connection ` +
      `gone half-open.`,
  );
}
