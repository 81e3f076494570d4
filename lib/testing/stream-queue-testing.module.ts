import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { InvalidOptionError } from '../errors';
import { snapshotOptions } from '../options-snapshot';
import type { StreamQueueModuleOptions } from '../interfaces';
import { StreamQueueModule } from '../stream-queue.module';
import { PrefixCleaner, TESTING_PREFIX } from './prefix-cleaner';
import { testPrefix } from './test-prefix';

/** @publicApi StreamQueueModule's options, and whether the testing module deletes its keys. */
export interface StreamQueueTestingOptions extends StreamQueueModuleOptions {
  /**
   * Whether `app.close()` deletes the prefix's queue keys, `{<prefix>:<queue>…}:…` (last, on the
   * module's own connection just before it closes); a key that merely starts with the prefix's
   * text (`sqlite-cache` for `sq`) is not one. Default: `true` when the testing module chose the
   * prefix (a fresh `testPrefix()`, no one else's), `false` when `prefix` is given: other apps may
   * keep keys under it (a producer and a worker of one test, the apps of a file sharing one
   * prefix), and a real prefix holds real data. `true` with a given prefix deletes every queue key
   * under it, other apps' included; without it, call `cleanupPrefix(redis, prefix)` once every
   * app on it closed.
   */
  cleanup?: boolean;
}

/**
 * `StreamQueueModule.forRoot(options)` for a test file: its keys live under a prefix of their own
 * (a fresh `testPrefix()` unless `options.prefix` is given), deleted when the app closes unless
 * the prefix was given (see `cleanup`). Inject `TESTING_PREFIX` to read it. A hand-written static
 * forRoot rather than a ConfigurableModuleBuilder: the prefix must be chosen while the imports
 * are built.
 * @publicApi
 */
@Module({})
export class StreamQueueTestingModule {
  static forRoot(testingOptions: StreamQueueTestingOptions): DynamicModule {
    // No object: StreamQueueModule's own check says what it expects. Each option read once, first:
    // one whose getter throws is refused by name (snapshotOptions), not by the spread's bare error.
    const { cleanup, ...options } = snapshotOptions(testingOptions ?? ({} as StreamQueueTestingOptions), '');
    if (cleanup !== undefined && typeof cleanup !== 'boolean')
      throw new InvalidOptionError('cleanup', 'a boolean', cleanup);
    const prefix = options.prefix ?? testPrefix();
    const providers: Provider[] = [{ provide: TESTING_PREFIX, useValue: prefix }];
    if (cleanup ?? options.prefix === undefined) providers.push(PrefixCleaner);
    return {
      module: StreamQueueTestingModule,
      global: true,
      imports: [StreamQueueModule.forRoot({ ...options, prefix })],
      providers,
      exports: [TESTING_PREFIX],
    };
  }
}
