import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { StreamQueueEvents, type StreamQueueEventType } from 'nest-stream-queue';

/**
 * Events the library does not log itself (it already logs dead letters, takeovers and refused
 * completions); `completed` and `failed` are left to the handlers.
 */
const LOGGED: readonly StreamQueueEventType[] = ['retry-scheduled', 'superseded'];

/** Consumer roles only: makes retries and superseded runs visible in the output. */
@Injectable()
export class TaskEventLogger implements OnModuleInit {
  private readonly logger = new Logger('TaskEvents');

  constructor(private readonly events: StreamQueueEvents) {}

  onModuleInit(): void {
    for (const type of LOGGED) {
      this.events.on(type, (e) => {
        const task = e.taskId ? ` ${e.name ?? 'task'} ${e.taskId}` : '';
        this.logger.log(
          `${type} on "${e.queue}":${task}${e.key ? ` key ${e.key}` : ''}${e.detail ? ` (${e.detail})` : ''}`,
        );
      });
    }
  }
}
