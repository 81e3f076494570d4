import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { QueueClient } from '../../lib';
import { taskLinks } from '../tasks/task-links';
import { SEND_EMAIL, type Email } from './emails.tasks';

const MAX_RECIPIENTS = 1_000;

@Controller('emails')
export class EmailsController {
  constructor(private readonly queue: QueueClient) {}

  /** One task per recipient, all enqueued in a single round trip. */
  @Post()
  @HttpCode(202)
  async send(@Body() body: { to?: unknown; subject?: unknown }): Promise<object> {
    const { to, subject = 'Hello from nest-stream-queue' } = body ?? {};
    const recipients = typeof to === 'string' ? [to] : to;
    if (
      !Array.isArray(recipients) ||
      recipients.length === 0 ||
      recipients.length > MAX_RECIPIENTS ||
      !recipients.every((r) => typeof r === 'string' && r.length > 0)
    ) {
      throw new BadRequestException(`to must be an address or a list of 1 to ${MAX_RECIPIENTS} addresses`);
    }
    if (typeof subject !== 'string') throw new BadRequestException('subject must be a string');
    const handles = await this.queue.enqueueMany(
      recipients.map((address: string) => ({ name: SEND_EMAIL, payload: { to: address, subject } satisfies Email })),
    );
    return {
      count: handles.length,
      tasks: handles.map((h, i) => ({ ...h.toJSON(), to: recipients[i], ...taskLinks(h) })),
    };
  }
}
