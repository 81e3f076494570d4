import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { StreamQueueMetricsOptions } from './metrics-options.interface';

/** @internal forRoot / forRootAsync of StreamQueueMetricsModule. */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<StreamQueueMetricsOptions>({ moduleName: 'StreamQueueMetrics' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createMetricsOptions')
    .build();
