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
