import type { Redis } from 'ioredis';

/** A node connection's send and the queue of what it wrote (internal, wrapped only here). */
interface NodeConnection {
  sendCommand(command: object, stream?: unknown): unknown;
  readonly commandQueue: { readonly length: number; peekAt(index: number): { command: object } | undefined };
}

/**
 * @internal Records the commands any node connection of the Cluster `cluster` wrote: the Cluster
 * tries a written command again when its node's connection closes (after retryDelayOnFailover),
 * and when the whole cluster went meanwhile that try puts it in the Cluster's offline queue,
 * beside the calls never sent. offlineTimeoutMs's bound gave it up as never sent (mayHaveRun
 * false), though Redis may have run it. Returns whether a command was written, and the stop.
 */
export function watchNodeWrites(cluster: Redis): { wasWritten(command: object): boolean; stop(): void } {
  const written = new WeakSet<object>();
  let active = true;
  const wrap = (node: Redis) => {
    const connection = node as unknown as NodeConnection;
    const send = connection.sendCommand;
    connection.sendCommand = function (this: NodeConnection, command, stream) {
      const sent = send.call(this, command, stream);
      // Written: ioredis queues what it wrote for the reply (else it is in the offline queue).
      if (active && this.commandQueue.peekAt(this.commandQueue.length - 1)?.command === command) written.add(command);
      return sent;
    };
  };
  const nodes = (cluster as unknown as { nodes(role: 'all'): Redis[] }).nodes('all');
  nodes.forEach(wrap);
  cluster.on('+node', wrap);
  return {
    wasWritten: (command) => written.has(command),
    stop: () => {
      // A wrapper left on a node passes through (a handed-in Cluster outlives the application).
      active = false;
      cluster.off('+node', wrap);
    },
  };
}
