import type { Cluster, Redis } from 'ioredis';

/** A command ioredis wrote and holds until its reply comes (internal). */
interface WrittenCommand {
  name: string;
  args: unknown[];
}

/** ioredis's queue of commands written and unanswered on one connection (internal). */
function writtenQueue(redis: Redis): { length: number; peekAt(i: number): { command: WrittenCommand } } {
  return (redis as unknown as { commandQueue: ReturnType<typeof writtenQueue> }).commandQueue;
}

/** How many commands `redis` wrote that are not answered yet. */
export function unanswered(redis: Redis): number {
  return writtenQueue(redis).length;
}

/** The node connection of `cluster` holding, written and unanswered, a command that `matches`. */
export function nodeHolding(cluster: Cluster, matches: (command: WrittenCommand) => boolean): Redis | undefined {
  return cluster.nodes('all').find((node) => {
    const queue = writtenQueue(node);
    for (let i = 0; i < queue.length; i++) if (matches(queue.peekAt(i).command)) return true;
    return false;
  });
}

/** The node connection of `cluster` holding, written and unanswered, a command naming `marker`. */
export function nodeHoldingMarker(cluster: Cluster, marker: string): Redis | undefined {
  return nodeHolding(cluster, (command) => command.args.some((a) => String(a).includes(marker)));
}

/** Whether a node connection of `cluster` holds, written and unanswered, a command naming `marker`. */
export function writtenTo(cluster: Cluster, marker: string): boolean {
  return nodeHoldingMarker(cluster, marker) !== undefined;
}
