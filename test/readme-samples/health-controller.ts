// README.md, "Health": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (node tools/check-doc-samples.js --marked README.md).
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
// #region health
import { StreamQueueHealthModule, StreamQueueHealthIndicator } from 'nest-stream-queue/terminus';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly queues: StreamQueueHealthIndicator,
  ) {}
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.queues.isHealthy('queues', { queue: 'emails', maxWaitingMs: 60_000 })]);
  }
}
// imports: [StreamQueueHealthModule, TerminusModule]
// #endregion

/** The module the sample's last line describes. */
@Module({ imports: [StreamQueueHealthModule, TerminusModule], controllers: [HealthController] })
export class HealthModule {}
