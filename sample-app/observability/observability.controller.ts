import { Controller, Get, Header } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { register } from 'prom-client';
import { StreamQueueHealthIndicator } from 'nest-stream-queue/terminus';

/** GET /metrics (Prometheus text format) and GET /health (Terminus: 200 up, 503 down). */
@Controller()
export class ObservabilityController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly queues: StreamQueueHealthIndicator,
  ) {}

  @Get('metrics')
  @Header('Content-Type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }

  @Get('health')
  @HealthCheck()
  check() {
    // Down when an email has waited a minute: the workers cannot keep up.
    return this.health.check([() => this.queues.isHealthy('queues', { queue: 'emails', maxWaitingMs: 60_000 })]);
  }
}
