import {
  Inject,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createDashboardController } from './dashboard.controller';
import { dashboardHeaders } from './dashboard-headers.middleware';
import {
  DASHBOARD_CONFIG,
  resolveDashboardConfig,
  type DashboardConfig,
  type StreamQueueDashboardOptions,
} from './dashboard-options';
import { QueueHistory } from './queue-history';
import { addUnroutedDashboardHeaders } from './unrouted-dashboard-headers';

/** @internal Provider token of this forRoot()'s controller class (its routes get the headers). */
const DASHBOARD_CONTROLLER = 'STREAM_QUEUE:DASHBOARD_CONTROLLER';

/**
 * A web page of the fleet's queues: depth, rates and lag over time, running tasks and their
 * workers, delayed tasks, dead letters (redrive, purge), key cancel and replace, task inspection.
 * Import it beside `StreamQueueModule.forRoot()` in an HTTP app; guard it with your own guard.
 * @publicApi
 */
@Module({})
export class StreamQueueDashboardModule implements NestModule, OnModuleInit {
  constructor(
    @Inject(DASHBOARD_CONTROLLER) private readonly controller: Type<unknown>,
    @Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  static forRoot(options: StreamQueueDashboardOptions): DynamicModule {
    const config = resolveDashboardConfig(options);
    const guard = config.guard;
    const controller = createDashboardController(config);
    return {
      module: StreamQueueDashboardModule,
      controllers: [controller],
      providers: [
        { provide: DASHBOARD_CONFIG, useValue: config },
        { provide: DASHBOARD_CONTROLLER, useValue: controller },
        QueueHistory,
        // A guard class is resolved by Nest in this module; an instance is used as it is.
        ...(typeof guard === 'function' ? [guard] : []),
      ],
    };
  }

  /** The headers every answer of this dashboard carries, set before its guards run. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(dashboardHeaders).forRoutes(this.controller);
  }

  /**
   * The same headers on what is answered before a route matched (see unrouted-dashboard-headers):
   * added here, after the routes and before Nest's error and not-found handlers.
   */
  onModuleInit(): void {
    const server = this.adapterHost.httpAdapter;
    if (server) addUnroutedDashboardHeaders(server, this.config.path);
  }
}
