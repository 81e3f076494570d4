import { DynamicModule, Module } from '@nestjs/common';
import { StreamQueueModule, type StreamQueueModuleOptions } from 'nest-stream-queue';
import { StreamQueueDashboardModule } from 'nest-stream-queue/dashboard';
import { EmailsController } from './emails/emails.controller';
import { EmailsTasks } from './emails/emails.tasks';
import { MetricsTasks } from './metrics/metrics.tasks';
import { ObservabilityModule } from './observability/observability.module';
import { ReportsController } from './reports/reports.controller';
import { ReportsTasks } from './reports/reports.tasks';
import { SampleConfigModule } from './sample-config.module';
import { SchedulesController } from './schedules/schedules.controller';
import { consumes, SAMPLE_CONFIG, serves, type Role, type SampleConfig } from './sample.config';
import { StatsController } from './stats/stats.controller';
import { StatsPublisher } from './stats/stats.publisher';
import { StatsStore } from './stats/stats.store';
import { TaskEventLogger } from './stats/task-event.logger';
import { TasksController } from './tasks/tasks.controller';

/** The queues of the sample's tasks (emails.send runs on `emails`; see each *.tasks.ts). */
const SAMPLE_QUEUES = ['emails', 'reports'];
const SAMPLE_DASHBOARD = { path: '/queues', queues: ['default', 'emails', 'reports', 'metrics'] };

/**
 * One module for every role. The task providers are registered in the API process too: there
 * they only tell QueueClient which queue each task lives on (`worker: false` never consumes).
 */
@Module({})
export class AppModule {
  static forRole(role: Role): DynamicModule {
    const configModule = SampleConfigModule.forRoot(role);
    return {
      module: AppModule,
      imports: [
        configModule,
        StreamQueueModule.forRootAsync({
          imports: [configModule],
          inject: [SAMPLE_CONFIG],
          useFactory: ({
            redisUrl,
            clusterNodes,
            partitions,
            prefix,
            role,
          }: SampleConfig): StreamQueueModuleOptions => ({
            // Moving to a Redis Cluster changes the connection and adds partitions, nothing else.
            connection: clusterNodes ? { cluster: { nodes: [...clusterNodes] } } : { url: redisUrl },
            queues: Object.fromEntries(SAMPLE_QUEUES.map((queue) => [queue, { partitions }])),
            prefix,
            worker: consumes(role),
            // Small, so a burst of emails visibly spreads over several workers.
            concurrency: 4,
          }),
        }),
        ObservabilityModule,
        // The dashboard at /queues on the API process (see README, "Dashboard").
        ...(serves(role) ? [StreamQueueDashboardModule.forRoot(SAMPLE_DASHBOARD)] : []),
      ],
      controllers: serves(role)
        ? [ReportsController, EmailsController, TasksController, SchedulesController, StatsController]
        : [],
      providers: [
        ReportsTasks,
        EmailsTasks,
        MetricsTasks,
        StatsStore,
        ...(consumes(role) ? [StatsPublisher, TaskEventLogger] : []),
      ],
    };
  }
}
