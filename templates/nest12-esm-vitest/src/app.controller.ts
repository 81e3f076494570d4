import { Body, Controller, Post } from '@nestjs/common';
import { QueueClient } from 'nest-stream-queue';

@Controller()
export class AppController {
  constructor(private readonly queue: QueueClient) {}

  /** Enqueues a task and answers with its result, once a worker (this process) has run it. */
  @Post('echo')
  async echo(@Body() body: { text: string }): Promise<{ echoed: string }> {
    const handle = await this.queue.enqueue<{ text: string }, { echoed: string }>('template.echo', {
      text: body.text,
    });
    return handle.result({ timeoutMs: 10_000 });
  }
}
