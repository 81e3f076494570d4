/** ioredis's command, as its queues hold it (internal fields, read only). */
export interface QueuedCommand {
  readonly name: string;
  readonly args: readonly unknown[];
  /** Between a MULTI and its EXEC: given up alone, the transaction around it would be torn. */
  readonly inTransaction?: boolean;
}

/** @internal Which queued commands a bound may give up: all of them, or the module's own. */
export type CommandFilter = (command: QueuedCommand) => boolean;

/**
 * @internal The module's commands on a client handed in as `connection`, which the application
 * uses too: those naming a key or channel of the module (every one begins `{<prefix>:`, the
 * queue's hash tag, after any ioredis keyPrefix). The application's own commands keep ioredis's
 * behaviour: a client built with `maxRetriesPerRequest: null` (BullMQ asks it of a shared client)
 * is one whose owner chose to wait for ever. A command inside a MULTI is left whole.
 */
export function moduleCommands(prefix: string): CommandFilter {
  const tag = `{${prefix}:`;
  return (command) =>
    !command.inTransaction &&
    command.args.some((arg) =>
      (typeof arg === 'string' ? arg : Buffer.isBuffer(arg) ? arg.toString() : '').includes(tag),
    );
}
