import { BadRequestException, Controller, Get, NotFoundException, Param, Query, Res } from '@nestjs/common';
import { InvalidOptionError, QueueClient, TaskFailedError, TaskTimeoutError, type TaskHandle } from 'nest-stream-queue';
import { taskLinks } from './task-links';

const DEFAULT_WAIT_MS = 30_000;
const MAX_WAIT_MS = 60_000;

/** The one thing used from the HTTP response; no dependency on express's types. */
interface StatusSetter {
  status(code: number): unknown;
}

/**
 * Results and status of any task, whichever process enqueued it: QueueClient.handle() needs only
 * the queue and the id (such a handle knows no name or generation, so responses echo the ids).
 * Redis cannot tell an unknown id from an unkeyed task that is still queued or running (neither
 * has run state), so an unknown id answers like a pending task: 202 once the wait is over. The
 * same holds for a result older than resultTtlMs (one hour by default).
 */
@Controller('tasks')
export class TasksController {
  constructor(private readonly queue: QueueClient) {}

  /**
   * Waits up to `timeoutMs` (default 30 000) for the result: 200 with the result or the failure,
   * 202 while the task is still queued or running (or the id is unknown).
   */
  @Get(':queue/:id/result')
  async result(
    @Param('queue') queue: string,
    @Param('id') id: string,
    @Query('timeoutMs') timeoutMs: string | undefined,
    @Query('key') key: string | undefined,
    @Res({ passthrough: true }) res: StatusSetter,
  ): Promise<object> {
    const wait = timeoutMs === undefined ? DEFAULT_WAIT_MS : Number(timeoutMs);
    if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_MS) {
      throw new BadRequestException(`timeoutMs must be an integer from 0 to ${MAX_WAIT_MS}`);
    }
    const handle = this.handleOf(queue, id, key);
    const task = { id, queue, key };
    try {
      return { status: 'completed', task, result: await handle.result({ timeoutMs: wait }) };
    } catch (error) {
      if (error instanceof TaskFailedError) {
        return { status: 'failed', task, error: { name: error.causeName, message: error.message } };
      }
      if (!(error instanceof TaskTimeoutError)) throw error;
    }
    res.status(202);
    const retry = `/tasks/${queue}/${encodeURIComponent(id)}/result?timeoutMs=${wait}${key === undefined ? '' : `&key=${encodeURIComponent(key)}`}`;
    return { status: 'pending', task, state: await handle.status(), retry };
  }

  /**
   * The run's state without waiting. Unkeyed: `pending`, `completed` or `failed`. With `?key=`,
   * the key's latest run in full (queued, delayed, running, ...; `state.id` says which run),
   * or 404 when the key has no run state.
   */
  @Get(':queue/:id/status')
  async status(
    @Param('queue') queue: string,
    @Param('id') id: string,
    @Query('key') key: string | undefined,
  ): Promise<object> {
    const handle = this.handleOf(queue, id, key);
    const state = await handle.status();
    if (state === null)
      throw new NotFoundException(`Key "${key}" has no run on queue "${queue}" (never used, or its state expired).`);
    return { task: { id, queue, key }, state, ...taskLinks(handle) };
  }

  private handleOf(queue: string, id: string, key: string | undefined): TaskHandle<unknown> {
    try {
      return this.queue.handle(id, { queue, key });
    } catch (error) {
      if (error instanceof InvalidOptionError) throw new BadRequestException(error.message);
      throw error;
    }
  }
}
