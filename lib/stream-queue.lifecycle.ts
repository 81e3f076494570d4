import { Injectable } from '@nestjs/common';
import { ConsumerHost } from './consumer/consumer.host';

/**
 * The worker's lifecycle, for applications that order their own shutdown. `app.close()` already
 * drains before any provider's `onModuleDestroy`; call `drain()` yourself when something outside
 * Nest's hooks must wait for the runs (for example before closing a resource in a signal handler
 * of your own).
 * @publicApi
 */
@Injectable()
export class StreamQueueLifecycle {
  constructor(private readonly host: ConsumerHost) {}

  /**
   * Stops reading every queue and resolves once in-flight runs have finished and settled (up to
   * `shutdownTimeoutMs`; past it their signals abort and they are left to be reclaimed). After
   * it, this process starts no run. Idempotent: `app.close()` then waits for the same drain.
   */
  drain(): Promise<void> {
    return this.host.drain();
  }
}
