// README.md, "Metrics": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
import { Module } from '@nestjs/common';
import { StreamQueueModule } from 'nest-stream-queue';
import { connection, registry } from './app-context';
// #region metrics
import { StreamQueueMetricsModule } from 'nest-stream-queue/metrics';

@Module({ imports: [StreamQueueModule.forRoot({ connection }), StreamQueueMetricsModule.forRoot({ registry })] })
export class AppModule {}
// #endregion
