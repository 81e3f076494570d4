import { Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { ResultWaiter } from '../client/result-waiter';
import { ConsumerHost } from './consumer.host';

/**
 * @internal Starts consumption after every other module's onApplicationBootstrap, and drains it
 * (telling the result waiters the application closes) before every other module's onModuleDestroy.
 *
 * Nest calls each hook module by module, sorted by `distance` (the module's depth in the import
 * graph): descending at init and bootstrap, ascending at destroy and shutdown. A global module,
 * as StreamQueueModule is by default, gets `Number.MAX_VALUE`, so its hooks run first at boot
 * and last at teardown: consumption would start before user providers finished bootstrapping,
 * and drain only after they were destroyed (beforeApplicationShutdown runs after every
 * onModuleDestroy, so it is no better). This module holds only these two hooks and sets its own
 * distance to the opposite extreme while Nest instantiates it, before init() sorts the modules
 * (once, for every hook).
 *
 * The rest of StreamQueueModule must init first (Redis reached, the registry filled, before any
 * user onModuleInit enqueues) and shut down last (Redis closes after every user hook). Global,
 * it shares `Number.MAX_VALUE` with the application's global modules, and among equals the order
 * is registration order: a global module listed before it ran its onModuleInit first (an enqueue
 * there found no registry and went to the `default` queue, whatever its task's queue) and its
 * onApplicationShutdown last (its enqueue refused, the connections closed). Not global, it sat at
 * its depth. So every StreamQueueModule is placed at +Infinity, above any other module.
 */
@Module({})
export class ConsumerLifecycleModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(private readonly modules: ModulesContainer) {
    for (const moduleRef of modules.values()) {
      if (moduleRef.metatype === ConsumerLifecycleModule) moduleRef.distance = -Number.MAX_VALUE;
      if (moduleRef.providers.has(ConsumerHost)) moduleRef.distance = Number.POSITIVE_INFINITY;
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.each(ConsumerHost).map((host) => host.start()));
  }

  async onModuleDestroy(): Promise<void> {
    // The first teardown hook of all: the result waiters learn the application is closing before
    // any hook of the application's own closes the client it handed in (see ResultWaiter.closing).
    this.each(ResultWaiter).forEach((waiter) => waiter.closing());
    await Promise.all(this.each(ConsumerHost).map((host) => host.drain()));
  }

  /** That provider of every StreamQueueModule in the app (found by class: the module may not be global). */
  private each<T>(type: new (...args: never[]) => T): T[] {
    const found: T[] = [];
    for (const moduleRef of this.modules.values()) {
      const instance: unknown = moduleRef.providers.get(type)?.instance;
      if (instance instanceof type) found.push(instance);
    }
    return found;
  }
}
