// README.md, "Dashboard": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (node tools/check-doc-samples.js --marked README.md).
import { Module } from '@nestjs/common';
import { StreamQueueModule } from 'nest-stream-queue';
import { AdminGuard } from './admin.guard';
// #region dashboard
import { StreamQueueDashboardModule } from 'nest-stream-queue/dashboard';

@Module({
  imports: [
    StreamQueueModule.forRoot({ connection: { url: process.env.REDIS_URL! } }),
    StreamQueueDashboardModule.forRoot({ path: '/queues', guard: AdminGuard, queues: ['default', 'emails'] }),
  ],
})
export class AppModule {}
// #endregion
