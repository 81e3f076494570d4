import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { QueueClient } from '../../lib';
import { taskLinks } from '../tasks/task-links';
import { GENERATE_REPORT, type Report, type ReportRequest } from './reports.tasks';

const MAX_PAGES = 200;

@Controller('reports')
export class ReportsController {
  constructor(private readonly queue: QueueClient) {}

  /**
   * Keyed by user: while a user's report is queued or running, asking again returns that run
   * (`created: false`); `"replace": true` supersedes it instead, aborting the running one.
   */
  @Post()
  @HttpCode(202)
  async create(@Body() body: Partial<ReportRequest> & { replace?: boolean }): Promise<object> {
    const { userId, pages = 10, replace = false } = body ?? {};
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 100) {
      throw new BadRequestException('userId must be a string of 1 to 100 characters');
    }
    if (!Number.isInteger(pages) || pages < 1 || pages > MAX_PAGES) {
      throw new BadRequestException(`pages must be an integer from 1 to ${MAX_PAGES}`);
    }
    const payload: ReportRequest = { userId, pages };
    const options = { key: `report:${userId}` };
    const handle = replace
      ? await this.queue.replace<ReportRequest, Report>(GENERATE_REPORT, payload, options)
      : await this.queue.enqueue<ReportRequest, Report>(GENERATE_REPORT, payload, options);
    return { task: handle, created: handle.created, ...taskLinks(handle) };
  }
}
