import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpException,
  HttpStatus,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import { isKey } from '../client/enqueue-input';
import { QueueClient } from '../client/queue-client';
import {
  InvalidOptionError,
  KeyConflictError,
  PayloadError,
  RedriveRefusedError,
  StreamQueueError,
  TaskNotFoundError,
  TaskRunningError,
  UnknownTaskError,
} from '../errors';
import type { ListedState } from '../interfaces';
import { dashboardAssets, dashboardHtml } from './dashboard-assets';
import { bodyOf, partitionOf, purgeOf, redriveAllOf } from './dashboard-bodies';
import type { DashboardConfig } from './dashboard-options';
import { JsonWritesGuard } from './json-writes-guard';
import { ListedQueueGuard } from './listed-queue-guard';
import { QueueHistory } from './queue-history';
import { SameOriginGuard } from './same-origin-guard';

/**
 * Scripts and styles only from the page's own origin: a payload that slipped past escaping still
 * cannot run. No site may frame the page (default-src does not cover it), and lay its own bait
 * over the page's buttons: X-Frame-Options says the same to browsers without CSP 2. Nor does
 * default-src cover base-uri (an injected <base> would move the page's relative script URL to
 * another origin; 'self', since the page sets its own, relative <base>) or form-action (the page
 * sends no form: its writes are fetch calls with JSON).
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'none'";

/** Our errors as HTTP answers: what the operator did wrong (4xx), with the error's own message. */
function toHttp(error: unknown): never {
  if (!(error instanceof StreamQueueError)) throw error;
  const status =
    error instanceof TaskNotFoundError
      ? HttpStatus.NOT_FOUND
      : error instanceof TaskRunningError || error instanceof RedriveRefusedError || error instanceof KeyConflictError
        ? HttpStatus.CONFLICT
        : error instanceof InvalidOptionError || error instanceof UnknownTaskError || error instanceof PayloadError
          ? HttpStatus.BAD_REQUEST
          : HttpStatus.INTERNAL_SERVER_ERROR;
  throw new HttpException({ code: error.code, message: error.message }, status);
}

/**
 * A key or task id: the route's segment, unless the query names it (`?key=`, `?id=`). A browser
 * resolves a segment "." or ".." (encoded or not) before asking, so the page sends such a value
 * in the query, under a placeholder segment. A query value that is no string is passed on, and
 * the client refuses it (400) by name.
 */
function segmentOr(fromPath: string, fromQuery: unknown): string {
  return fromQuery === undefined ? fromPath : (fromQuery as string);
}

/**
 * A queue of the overview that could not be read, as the page shows it: one queue (a stream
 * anyone gave too many groups, a key of the wrong type) never fails the others' answer. A
 * StreamQueueError says why; any other error is not shown, as toHttp shows none.
 */
function unreadQueue(queue: string): (error: unknown) => { queue: string; error: { code: string; message: string } } {
  return (error) => ({
    queue,
    error:
      error instanceof StreamQueueError
        ? { code: error.code, message: error.message }
        : { code: 'UNREADABLE', message: `Queue "${queue}" could not be read.` },
  });
}

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    return toHttp(error);
  }
}

/**
 * @internal The dashboard's routes under the configured path, behind the user's guard, then one
 * that refuses a browser's request from another origin (SameOriginGuard), one that takes writes
 * only as JSON (see JsonWritesGuard), and one that takes only the configured
 * queues (ListedQueueGuard); every answer, refusals included, uncached and not to be sniffed
 * (dashboardHeaders, a middleware the module applies to this class's routes). A class per
 * forRoot() call: Nest reads the path and guards from the class's decorators.
 */
export function createDashboardController(config: DashboardConfig): Type<unknown> {
  const guards = config.guard ? [config.guard as Type<CanActivate>] : [];

  @Controller(config.path)
  @UseGuards(...guards, new SameOriginGuard(), new JsonWritesGuard(), new ListedQueueGuard(config.queues))
  class StreamQueueDashboardController {
    constructor(
      readonly client: QueueClient,
      readonly history: QueueHistory,
    ) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Content-Security-Policy', CSP)
    @Header('X-Frame-Options', 'DENY')
    page(@Req() request: { originalUrl?: string; url: string }): string {
      return dashboardHtml(config.path, (request.originalUrl ?? request.url).split('?')[0]);
    }

    @Get('assets/app.js')
    @Header('Content-Type', 'text/javascript; charset=utf-8')
    script(): string {
      return dashboardAssets().js;
    }

    @Get('assets/style.css')
    @Header('Content-Type', 'text/css; charset=utf-8')
    style(): string {
      return dashboardAssets().css;
    }

    @Get('api/overview')
    overview(): Promise<unknown> {
      return answer(async () => ({
        queues: await Promise.all(config.queues.map((q) => this.client.inspect(q).catch(unreadQueue(q)))),
        history: this.history.history(),
        sampleIntervalMs: config.sampleIntervalMs,
      }));
    }

    @Get('api/queues/:queue/tasks')
    tasks(
      @Param('queue') queue: string,
      @Query('state') state: string,
      @Query('cursor') cursor?: string,
      @Query('limit') limit?: string,
    ): Promise<unknown> {
      return answer(async () => {
        // A first page of dead letters comes with their bound, what "Purge all" and "Redrive all"
        // then act on: read before the page, so it never takes one dead-lettered after it.
        const first = state === 'dead' && (cursor === undefined || cursor === '');
        const deadLetters = first ? await this.client.deadLetterBound(queue) : undefined;
        const page = await this.client.list(state as ListedState, {
          queue,
          cursor,
          limit: limit === undefined ? undefined : /^\d+$/.test(limit) ? Number(limit) : (limit as never),
        });
        return deadLetters ? { ...page, deadLetters } : page;
      });
    }

    @Get('api/queues/:queue/tasks/:id')
    task(
      @Param('queue') queue: string,
      @Param('id') segment: string,
      @Query('partition') partition?: string,
      @Query('id') idQuery?: string,
    ): Promise<unknown> {
      const id = segmentOr(segment, idQuery);
      return answer(async () => {
        const found = await this.client.findTask(id, { queue, partition: partitionOf(partition) });
        // A key no enqueue could give (an entry written by hand) has no status to read.
        const key = found.task?.key;
        const status = isKey(key) ? await this.client.status(key, { queue }) : null;
        // A pending marker with no task listed (between listings, or lost) still says a run is pending.
        if (!found.task && found.result === null && !found.pending) throw new TaskNotFoundError(queue, id, 'task');
        return { ...found, status };
      });
    }

    @Delete('api/queues/:queue/tasks/:id')
    remove(
      @Param('queue') queue: string,
      @Param('id') segment: string,
      @Query('id') idQuery?: string,
    ): Promise<unknown> {
      const id = segmentOr(segment, idQuery);
      return answer(async () => (await this.client.remove(id, { queue }), { removed: id }));
    }

    @Post('api/queues/:queue/dead-letters/redrive-all')
    redriveAll(@Param('queue') queue: string, @Body() body: unknown): Promise<unknown> {
      return answer(() => this.client.redriveAll({ queue, ...redriveAllOf(body) }));
    }

    @Post('api/queues/:queue/dead-letters/purge')
    purge(@Param('queue') queue: string, @Body() body: unknown): Promise<unknown> {
      return answer(async () => ({ purged: await this.client.purgeDeadLetters({ queue, ...purgeOf(body) }) }));
    }

    @Post('api/queues/:queue/dead-letters/:id/redrive')
    redrive(
      @Param('queue') queue: string,
      @Param('id') id: string,
      @Query('partition') partition?: string,
    ): Promise<unknown> {
      return answer(async () => {
        const entryId = await this.client.redrive(id, { queue, partition: partitionOf(partition) });
        // '' is no entry: a task under flow control waits in the room for its slot (as the CLI says).
        return entryId === '' ? { waitsForSlot: true } : { entryId };
      });
    }

    @Post('api/queues/:queue/keys/:key/cancel')
    cancel(
      @Param('queue') queue: string,
      @Param('key') segment: string,
      @Query('key') keyQuery?: string,
    ): Promise<unknown> {
      const key = segmentOr(segment, keyQuery);
      return answer(async () => {
        if (!(await this.client.cancel(key, { queue }))) throw new TaskNotFoundError(queue, key, 'live run of key');
        return { cancelled: key };
      });
    }

    @Post('api/queues/:queue/keys/:key/replace')
    replace(
      @Param('queue') queue: string,
      @Param('key') segment: string,
      @Body() body: unknown,
      @Query('key') keyQuery?: string,
    ): Promise<unknown> {
      const key = segmentOr(segment, keyQuery);
      return answer(async () => {
        const { name, payload } = bodyOf(body);
        const handle = await this.client.replace(name as string, payload ?? null, { key, queue });
        return { id: handle.id, generation: handle.generation };
      });
    }
  }
  return StreamQueueDashboardController;
}
