import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { QueueClient } from 'nest-stream-queue';
import { taskLinks } from '../tasks/task-links';
import { CreateReportDto } from './create-report.dto';
import { GENERATE_REPORT, type Report, type ReportRequest } from './reports.tasks';

@Controller('reports')
export class ReportsController {
  constructor(private readonly queue: QueueClient) {}

  /**
   * Keyed by user: while a user's report is queued or running, asking again returns that run
   * (`created: false`); `"replace": true` supersedes it instead, aborting the running one.
   */
  @Post()
  @HttpCode(202)
  async create(@Body() { userId, pages, replace }: CreateReportDto): Promise<object> {
    const payload: ReportRequest = { userId, pages };
    const options = { key: `report:${userId}` };
    const handle = replace
      ? await this.queue.replace<ReportRequest, Report>(GENERATE_REPORT, payload, options)
      : await this.queue.enqueue<ReportRequest, Report>(GENERATE_REPORT, payload, options);
    return { task: handle, created: handle.created, ...taskLinks(handle) };
  }
}
