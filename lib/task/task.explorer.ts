import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { STREAM_QUEUE_CONFIG, TASK_METADATA } from '../stream-queue.constants';
import { partitionsOf, type StreamQueueConfig } from '../stream-queue.config';
import type { TaskMetadata } from './task.decorator';
import { TaskEnhancers } from './task.enhancers';
import { checkName, resolveTaskOptions } from './resolved-task-options';
import { TaskRegistry } from './task.registry';

/** The wrapper type DiscoveryService hands out, without a deep import into @nestjs/core. */
type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/**
 * @internal Records every `@Task()` method of every provider and controller in the registry
 * during onModuleInit; consumption starts later, in onApplicationBootstrap, once user modules
 * finished their own initialisation.
 */
@Injectable()
export class TaskExplorer implements OnModuleInit {
  private readonly logger = new Logger('StreamQueue');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly registry: TaskRegistry,
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly enhancers: TaskEnhancers,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      this.explore(wrapper);
    }
  }

  private explore(wrapper: InstanceWrapper): void {
    const { instance } = wrapper;
    if (!instance || typeof instance !== 'object' || wrapper.isAlias) return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = (instance as Record<string, unknown>)[methodName];
      if (typeof method !== 'function') continue;
      const meta = this.reflector.get<TaskMetadata | undefined>(TASK_METADATA, method);
      if (!meta) continue;
      const location = `${instance.constructor?.name ?? 'anonymous'}.${methodName}`;
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(
          `${location} is request-scoped or transient; @Task() handlers need a singleton provider and it is skipped.`,
        );
        continue;
      }
      const { name, ...options } = meta;
      checkName(`@Task() name on ${location}`, name);
      this.registry.add({
        name,
        location,
        module: wrapper.host?.name,
        options: resolveTaskOptions(name, options, this.config.resultTtlMs, (queue) =>
          partitionsOf(this.config, queue),
        ),
        handler: this.enhancers.wrap(instance, methodName, method as (p: unknown, c: unknown) => unknown, location),
      });
    }
  }
}
