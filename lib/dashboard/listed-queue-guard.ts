import { HttpException, HttpStatus, type CanActivate, type ExecutionContext } from '@nestjs/common';

/**
 * @internal A route's `:queue` must be one of the dashboard's `queues`: the app gave it those, and
 * whoever passes the guard reads and repairs those, not any queue under the prefix. Checked for
 * every route, before its handler touches Redis.
 */
export class ListedQueueGuard implements CanActivate {
  constructor(private readonly queues: readonly string[]) {}

  canActivate(context: ExecutionContext): boolean {
    const { params } = context.switchToHttp().getRequest<{ params?: Record<string, string> }>();
    const queue = params?.queue;
    if (queue === undefined || this.queues.includes(queue)) return true;
    throw new HttpException(
      {
        code: 'QUEUE_NOT_SHOWN',
        message: `No queue "${queue}" on this dashboard (its queues: ${this.queues.join(', ')}): nothing was read or changed.`,
      },
      HttpStatus.NOT_FOUND,
    );
  }
}
