/**
 * Base of every error this package throws; `code` is stable and safe to switch on.
 * @publicApi
 */
export class StreamQueueError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
