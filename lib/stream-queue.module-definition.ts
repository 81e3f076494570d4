import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { StreamQueueModuleOptions } from './interfaces';

/** @internal forRoot / forRootAsync (useFactory, useClass, useExisting, inject, imports), global by default. */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<StreamQueueModuleOptions>({ moduleName: 'StreamQueue' })
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();

/**
 * Options of `StreamQueueModule.forRootAsync()`: `useFactory` (with `inject`), `useClass` or
 * `useExisting`, `imports`, and `isGlobal` (default true).
 * @publicApi
 */
export type StreamQueueModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
