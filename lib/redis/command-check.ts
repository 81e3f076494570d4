import { MissingCommandError } from '../errors';
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
 */
export async function checkCommands(topology: Topology): Promise<void> {
  await Promise.all(
    topology.masters().map(async (node) => {
      let info: unknown[];
      try {
        info = (await node.call('COMMAND', 'INFO', ...REQUIRED_COMMANDS)) as unknown[];
      } catch (error) {
        if (/NOPERM|unknown command/i.test(String((error as Error).message))) return;
        throw error;
      }
      const missing = REQUIRED_COMMANDS.find((_, i) => info[i] == null);
      if (missing) throw new MissingCommandError(missing, redisAddress(node.options));
    }),
  );
}
