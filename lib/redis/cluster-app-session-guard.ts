import type { Cluster, Redis } from 'ioredis';
import { guardAppSession, type HeldBound } from './app-session-guard';
import type { CommandFilter } from './module-commands';

/**
 * @internal guardAppSession on each node connection of a Cluster handed in as `connection`, those
 * it opens later too. The application's transaction without a pipeline (`multi({ pipeline: false })`
 * on the Cluster, which sends MULTI to a master it samples, or on a connection of
 * `cluster.nodes()`) is open on one node's connection, the one the Cluster routes the module's
 * commands for that node's slots to: Redis queued them into it (an enqueue resolved on `QUEUED`,
 * then dropped by the DISCARD). The Cluster ends each command in its node connection's
 * `sendCommand`, where the guard holds the module's until that connection's EXEC or DISCARD. A
 * node connection that leaves the pool sends what its guard held: it ended, its transaction with
 * it, and the Cluster sends a command refused there again through the node serving the slot now.
 * Returns the removal (what is held refused with `withdrawn()`) and whether a node connection's
 * guard holds the module's commands now (its reply watch's PING would be queued in the transaction).
 */
export function guardClusterAppSessions(
  cluster: Cluster,
  isModuleCommand: CommandFilter,
  withdrawn: () => Error,
  heldBound: HeldBound,
): { remove: () => void; holding: (node: Redis) => boolean } {
  const guards = new Map<Redis, ReturnType<typeof guardAppSession>>();
  const guard = (node: Redis): void => {
    if (!guards.has(node))
      guards.set(node, guardAppSession(node, isModuleCommand, withdrawn, heldBound, { selects: false }));
  };
  const unguard = (node: Redis): void => {
    guards.get(node)?.removeSendingHeld();
    guards.delete(node);
  };
  cluster.nodes('all').forEach(guard);
  cluster.on('+node', guard);
  cluster.on('-node', unguard);
  return {
    remove: () => {
      cluster.off('+node', guard);
      cluster.off('-node', unguard);
      guards.forEach(({ remove }) => remove());
      guards.clear();
    },
    holding: (node) => !!guards.get(node)?.holding(),
  };
}
