import { StreamQueueError } from './stream-queue.error';

/**
 * A Redis node lacks a command the module needs (renamed or disabled, e.g. scripting turned off):
 * bootstrap fails naming the command and the node, rather than every call failing later.
 * @publicApi
 */
export class MissingCommandError extends StreamQueueError {
  constructor(
    readonly command: string,
    readonly address: string,
  ) {
    super(
      'MISSING_COMMAND',
      `Redis at ${address} does not offer the ${command.toUpperCase()} command, which the queue needs (is it renamed or disabled?).`,
    );
  }
}
