import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { QueueClient } from 'nest-stream-queue';
import { taskLinks } from '../tasks/task-links';
import { SEND_EMAIL, type Email } from './emails.tasks';
import { SendEmailsDto } from './send-emails.dto';

@Controller('emails')
export class EmailsController {
  constructor(private readonly queue: QueueClient) {}

  /** One task per recipient, all enqueued in a single round trip. */
  @Post()
  @HttpCode(202)
  async send(@Body() { to: recipients, subject }: SendEmailsDto): Promise<object> {
    const handles = await this.queue.enqueueMany(
      recipients.map((address) => ({ name: SEND_EMAIL, payload: { to: address, subject } satisfies Email })),
    );
    return {
      count: handles.length,
      tasks: handles.map((h, i) => ({ ...h.toJSON(), to: recipients[i], ...taskLinks(h) })),
    };
  }
}
