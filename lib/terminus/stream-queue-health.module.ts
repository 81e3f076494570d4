import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StreamQueueHealthIndicator } from './stream-queue-health.indicator';

/**
 * Provides `StreamQueueHealthIndicator` for a Terminus health check (@nestjs/terminus 11 or 12).
 * Needs StreamQueueModule (global by default).
 * @publicApi
 */
@Module({
  imports: [TerminusModule],
  providers: [StreamQueueHealthIndicator],
  exports: [StreamQueueHealthIndicator],
})
export class StreamQueueHealthModule {}
