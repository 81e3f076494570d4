import { type DynamicModule, Module } from '@nestjs/common';
import type { StreamQueueModuleOptions } from '../interfaces';
import { StreamQueueModule } from '../stream-queue.module';
import { PrefixCleaner, TESTING_PREFIX } from './prefix-cleaner';
import { testPrefix } from './test-prefix';

/** @publicApi StreamQueueModule's options; `prefix` defaults to a fresh `testPrefix()`. */
export type StreamQueueTestingOptions = StreamQueueModuleOptions;

/**
 * `StreamQueueModule.forRoot(options)` for a test file: its keys live under a prefix of their own
 * (a fresh `testPrefix()` unless `options.prefix` is given), deleted when the app closes.
 * Inject `TESTING_PREFIX` to read it. A hand-written static forRoot rather than a
 * ConfigurableModuleBuilder: the prefix must be chosen while the imports are built.
 * @publicApi
 */
@Module({})
export class StreamQueueTestingModule {
  static forRoot(options: StreamQueueTestingOptions): DynamicModule {
    const prefix = options.prefix ?? testPrefix();
    return {
      module: StreamQueueTestingModule,
      global: true,
      imports: [StreamQueueModule.forRoot({ ...options, prefix })],
      providers: [{ provide: TESTING_PREFIX, useValue: prefix }, PrefixCleaner],
      exports: [TESTING_PREFIX],
    };
  }
}
