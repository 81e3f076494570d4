import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueMetricsModule } from '../../lib/metrics';
import { StreamQueueHealthModule } from '../../lib/terminus';
import { StreamQueueTracingModule } from '../../lib/tracing';
import { ObservabilityController } from './observability.controller';

/**
 * Metrics, health and tracing of the sample's queues. The gauges read every queue the sample
 * uses, so an API process (which consumes nothing) reports the fleet's depth too. Tracing costs
 * nothing until an OpenTelemetry SDK is registered (e.g. with `node -r @opentelemetry/auto-instrumentations-node/register`).
 */
@Module({
  imports: [
    StreamQueueMetricsModule.forRoot({ queues: ['default', 'emails', 'reports', 'metrics'] }),
    StreamQueueTracingModule,
    StreamQueueHealthModule,
    TerminusModule,
  ],
  controllers: [ObservabilityController],
})
export class ObservabilityModule {}
