import { Module } from '@nestjs/common';
import { StreamQueueModule } from 'nest-stream-queue';
import { AppController } from './app.controller';
import { EchoTasks } from './echo.tasks';

@Module({
  imports: [
    StreamQueueModule.forRoot({
      connection: { url: process.env.REDIS_URL ?? 'redis://localhost:6379' },
      prefix: process.env.QUEUE_PREFIX,
    }),
  ],
  controllers: [AppController],
  providers: [EchoTasks],
})
export class AppModule {}
