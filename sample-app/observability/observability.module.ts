import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueMetricsModule } from 'nest-stream-queue/metrics';
import { StreamQueueHealthModule } from 'nest-stream-queue/terminus';
import { StreamQueueTracingModule } from 'nest-stream-queue/tracing';
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
