import { Module } from '@nestjs/common';
import { StreamQueueModule } from 'nest-stream-queue';
import { AppConfig, AppConfigModule, Mailer } from './fixtures';
import { Emails } from './tasks';

// #region forRoot
@Module({
  imports: [
    StreamQueueModule.forRoot({
      connection: { url: 'redis://127.0.0.1:6379' },
      prefix: 'app', // BullMQ's `prefix` (default 'bull'); ours defaults to 'sq'
      concurrency: 50, // per queue, per process: BullMQ's Worker `concurrency`
    }),
  ],
  providers: [Emails, Mailer], // no registerQueue: a queue exists once a @Task names it
})
export class AppModule {}
// #endregion

// #region forRootAsync
@Module({
  imports: [
    StreamQueueModule.forRootAsync({
      imports: [AppConfigModule],
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ connection: { url: config.redisUrl() } }),
    }),
  ],
})
export class AsyncAppModule {}
// #endregion

// #region producer
@Module({
  imports: [StreamQueueModule.forRoot({ connection: { url: 'redis://127.0.0.1:6379' }, worker: false })],
})
export class ProducerOnlyModule {}
// #endregion
