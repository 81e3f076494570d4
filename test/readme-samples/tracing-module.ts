// README.md, "Tracing": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
import { Module } from '@nestjs/common';
import { StreamQueueModule } from 'nest-stream-queue';
import { connection } from './app-context';
// #region tracing
import { StreamQueueTracingModule } from 'nest-stream-queue/tracing';

@Module({ imports: [StreamQueueModule.forRoot({ connection }), StreamQueueTracingModule] })
export class AppModule {}
// or StreamQueueTracingModule.forRoot({ askSamplerForUnsampledTraces: true })
// #endregion
