/** ioredis's command, as its queues hold it (internal fields, read only). */
export interface QueuedCommand {
  readonly name: string;
  readonly args: readonly unknown[];
}

/**
 * @internal Which queued commands a bound may give up: all of them, or on a client handed in as
 * `connection` the module's own (moduleClient marks them). The application's own commands keep
 * ioredis's behaviour: a client built with `maxRetriesPerRequest: null` (BullMQ asks it of a
 * shared client) is one whose owner chose to wait for ever.
 */
export type CommandFilter = (command: QueuedCommand) => boolean;

/** @internal One of ioredis's queues of commands (offline, written, kept to resend): internal fields. */
export interface CommandQueueOf<C extends QueuedCommand> {
  readonly length: number;
  peekAt(index: number): { command: C } | undefined;
  removeOne(index: number): void;
}

/** @internal ioredis's queues and their flush (internal: wrapped by unanswered-given-up.ts and ended-queues.ts). */
export type FlushArgs = [error: Error, options?: { offlineQueue?: boolean; commandQueue?: boolean }];
/** @internal A client as its queues' flush sees it (see FlushArgs). */
export interface FlushedQueues {
  offlineQueue: CommandQueueOf<QueuedCommand & { reject(error: Error): void }>;
  commandQueue: CommandQueueOf<QueuedCommand & { reject(error: Error): void }>;
  flushQueue(...args: FlushArgs): void;
}

/**
 * @internal Takes the commands `which` selects out of `queue`, rejecting each with `error()`
 * (left unsettled when it gives none: the caller settled them already).
 */
export function takeOutSelected<C extends QueuedCommand & { reject(error: Error): void }>(
  queue: CommandQueueOf<C> | undefined,
  which: CommandFilter,
  error: () => Error | undefined,
): void {
  if (!queue) return;
  for (let i = queue.length - 1; i >= 0; i--) {
    const item = queue.peekAt(i);
    if (!item || !which(item.command)) continue;
    queue.removeOne(i);
    const reason = error();
    if (reason) item.command.reject(reason);
  }
}
