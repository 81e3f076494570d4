import { Injectable, Logger } from '@nestjs/common';
import { ExternalContextCreator } from '@nestjs/core';
import type { TaskContext } from '../interfaces/index';
import { inRunContext } from '../stream-queue.instrumentation';

/** `ExecutionContext.getType()` of a task run, for interceptors that serve several transports. @publicApi */
export const STREAM_QUEUE_CONTEXT_TYPE = 'stream-queue';

/**
 * Where @UseInterceptors(), @UseGuards() and @UseFilters() record their enhancers: @nestjs/common's
 * constants, not exported from its root (a deep import breaks under Nest 12's export map).
 */
const INTERCEPTORS_METADATA = '__interceptors__';
const GUARDS_METADATA = '__guards__';
const EXCEPTION_FILTERS_METADATA = '__exceptionFilters__';

type Handler = (payload: unknown, ctx: unknown) => unknown;

/**
 * @internal Wraps a `@Task()` method in Nest's interceptor chain when its class or method declares
 * `@UseInterceptors()`, as Nest does for a controller: global interceptors first, then the class's,
 * then the method's, around `(payload, ctx)` with `getType() === 'stream-queue'`. A task without
 * interceptors of its own keeps its bare handler: no chain, no cost. Guards and exception filters
 * are not applied (see the README), and a task that declares them is warned about at bootstrap.
 */
@Injectable()
export class TaskEnhancers {
  private readonly logger = new Logger('StreamQueue');

  constructor(private readonly contextCreator: ExternalContextCreator) {}

  wrap(instance: object, methodName: string, method: Handler, location: string): Handler {
    const targets = [instance.constructor, method];
    const declared = (key: string) =>
      targets.some((t) => (Reflect.getMetadata(key, t) as unknown[] | undefined)?.length);
    for (const [key, what] of [
      [GUARDS_METADATA, 'guards'],
      [EXCEPTION_FILTERS_METADATA, 'exception filters'],
    ]) {
      if (declared(key)) {
        this.logger.warn(`${location} declares ${what}; a task run applies interceptors only, so they are ignored.`);
      }
    }
    if (!declared(INTERCEPTORS_METADATA)) return method.bind(instance);
    const chained = this.contextCreator.create(
      instance as Record<string, unknown>,
      method as (...args: unknown[]) => unknown,
      methodName,
      undefined,
      undefined,
      undefined,
      undefined,
      { interceptors: true, guards: false, filters: false },
      STREAM_QUEUE_CONTEXT_TYPE,
    );
    // Each run in an async context of its own, entered before the first interceptor runs.
    return (payload, ctx) => inRunContext(ctx as TaskContext, () => chained(payload, ctx));
  }
}
