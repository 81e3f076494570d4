import { Inject, Injectable, Logger } from '@nestjs/common';
import { RedisConnections } from '../redis/redis-connections';
import { deleteQueueKeys } from './test-prefix';

/** The prefix a StreamQueueTestingModule gave its StreamQueueModule (an injection token). @publicApi */
export const TESTING_PREFIX = 'STREAM_QUEUE:TESTING_PREFIX';

/**
 * @internal Deletes the test prefix's queue keys (the module's own, no key of the application's
 * that merely starts with the prefix's text) when the app closes, on the module's own connection
 * just before it closes: after every hook of the application, since a provider may still enqueue
 * in its onApplicationShutdown (a hook of its own here ran before those of the application's
 * global modules listed ahead of it, and before every onApplicationShutdown).
 */
@Injectable()
export class PrefixCleaner {
  constructor(@Inject(TESTING_PREFIX) prefix: string, connections: RedisConnections) {
    connections.beforeQuit(async () => {
      try {
        await deleteQueueKeys(connections.commands, prefix);
      } catch (error) {
        new Logger('StreamQueueTesting').warn(`could not delete the keys of prefix ${prefix}: ${String(error)}`);
      }
    });
  }
}
