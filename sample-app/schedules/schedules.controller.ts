import { BadRequestException, Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { InvalidOptionError, periodicKey, QueueClient, type TaskStatus } from 'nest-stream-queue';
import { METRICS_QUEUE, SNAPSHOT_METRICS } from '../metrics/metrics.tasks';
import { taskLinks } from '../tasks/task-links';

/** The `every` tasks this API lets a caller re-time, with their queues (status() needs it). */
const SCHEDULES = new Map<string, string>([[SNAPSHOT_METRICS, METRICS_QUEUE]]);

@Controller('schedules')
export class SchedulesController {
  constructor(private readonly queue: QueueClient) {}

  /**
   * Re-times a periodic task: `{"every": "2s"}` (or milliseconds). replace() supersedes the
   * pending run, runs the task once now, and times the following slots with the new period.
   * The period lives in Redis, so it holds for every worker until the chain is restarted.
   */
  @Post(':name')
  async retime(@Param('name') name: string, @Body() body: { every?: unknown }): Promise<object> {
    this.queueOf(name);
    const every = body?.every;
    if (typeof every !== 'string' && typeof every !== 'number')
      throw new BadRequestException('every must be milliseconds or a duration such as "2s"');
    try {
      const handle = await this.queue.replace(name, null, { key: periodicKey(name), every });
      return { task: handle, every, schedule: `/schedules/${name}`, ...taskLinks(handle) };
    } catch (error) {
      if (error instanceof InvalidOptionError) throw new BadRequestException(error.message);
      throw error;
    }
  }

  /** The latest run of the task's periodic key: usually `delayed`, with `dueAt` its next slot. */
  @Get(':name')
  async status(@Param('name') name: string): Promise<TaskStatus> {
    const status = await this.queue.status(periodicKey(name), { queue: this.queueOf(name) });
    if (status === null) throw new NotFoundException(`"${name}" has no run yet: it is scheduled when a worker starts.`);
    return status;
  }

  private queueOf(name: string): string {
    const queue = SCHEDULES.get(name);
    if (queue === undefined)
      throw new NotFoundException(`No re-timable schedule "${name}"; known: ${[...SCHEDULES.keys()].join(', ')}.`);
    return queue;
  }
}
