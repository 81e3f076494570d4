import { Module, type DynamicModule } from '@nestjs/common';
import { createDashboardController } from './dashboard.controller';
import { DASHBOARD_CONFIG, resolveDashboardConfig, type StreamQueueDashboardOptions } from './dashboard-options';
import { QueueHistory } from './queue-history';

/**
 * A web page of the fleet's queues: depth, rates and lag over time, running tasks and their
 * workers, delayed tasks, dead letters (redrive, purge), key cancel and replace, task inspection.
 * Import it beside `StreamQueueModule.forRoot()` in an HTTP app; guard it with your own guard.
 * @publicApi
 */
@Module({})
export class StreamQueueDashboardModule {
  static forRoot(options: StreamQueueDashboardOptions): DynamicModule {
    const config = resolveDashboardConfig(options);
    const guard = config.guard;
    return {
      module: StreamQueueDashboardModule,
      controllers: [createDashboardController(config)],
      providers: [
        { provide: DASHBOARD_CONFIG, useValue: config },
        QueueHistory,
        // A guard class is resolved by Nest in this module; an instance is used as it is.
        ...(typeof guard === 'function' ? [guard] : []),
      ],
    };
  }
}
