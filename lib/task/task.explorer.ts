import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, ModulesContainer, Reflector } from '@nestjs/core';
import { STREAM_QUEUE_CONFIG, TASK_METADATA } from '../stream-queue.constants';
import { partitionsOf, type StreamQueueConfig } from '../stream-queue.config';
import type { TaskMetadata } from './task.decorator';
import { TaskEnhancers } from './task.enhancers';
import { checkName, resolveTaskOptions } from './resolved-task-options';
import { TaskRegistry } from './task.registry';

/** The wrapper type DiscoveryService hands out, without a deep import into @nestjs/core. */
type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/** A @Task() method as found on a provider's prototype chain. */
interface Decorated {
  readonly method: (payload: unknown, ctx: unknown) => unknown;
  readonly meta: TaskMetadata;
}

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
    private readonly modules: ModulesContainer,
  ) {}

  async onModuleInit(): Promise<void> {
    this.warnIfImportedTwice();
    this.registry.explainWith((name) => this.whyMissing(name));
    // One instance may sit behind several tokens without being an alias (a factory handing back
    // an injected provider, one object given as useValue twice): its handlers are registered once.
    const explored = new Set<unknown>();
    try {
      for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
        if (explored.has(wrapper.instance)) continue;
        explored.add(wrapper.instance);
        // Synchronous but for a transient provider's own instance, which Nest resolves asynchronously.
        const resolving = this.explore(wrapper);
        if (resolving) await resolving;
      }
      this.registry.markFilled();
    } catch (error) {
      this.registry.markFilled(error);
      throw error;
    }
  }

  private explore(wrapper: InstanceWrapper): Promise<void> | undefined {
    const { instance } = wrapper;
    if (!instance || typeof instance !== 'object' || wrapper.isAlias) return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    const decorated = new Map<string, Decorated>();
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = (prototype as Record<string, unknown>)[methodName];
      const meta = typeof method === 'function' && this.reflector.get<TaskMetadata | undefined>(TASK_METADATA, method);
      if (meta) decorated.set(methodName, { method: method as Decorated['method'], meta });
      else this.warnHidden(prototype, methodName);
    }
    if (decorated.size === 0) return;
    const className = instance.constructor?.name ?? 'anonymous';
    if (!wrapper.isDependencyTreeStatic()) {
      for (const [
        methodName,
        {
          meta: { name },
        },
      ] of decorated) {
        this.logger.warn(
          `@Task('${name}') on ${className}.${methodName}: the provider is request-scoped (or depends on a request-scoped provider); @Task() handlers need a provider that lives outside requests and it is skipped.`,
        );
      }
      return;
    }
    const register = (target: object) => {
      for (const [methodName, found] of decorated) this.register(wrapper, target, className, methodName, found);
    };
    if (wrapper.isTransient) return this.ownInstance(wrapper).then(register);
    register(instance);
  }

  /**
   * Where a @Task() of a name the registry lacks is declared after all, and why it has no handler:
   * a module loaded after bootstrap (LazyModuleLoader runs no lifecycle hook, and the queues are
   * mounted once), or a request-scoped provider. Looked up only for a name without handler.
   */
  private whyMissing(name: string): string | undefined {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
      if (!prototype) continue;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[methodName];
        const meta =
          typeof method === 'function' && this.reflector.get<TaskMetadata | undefined>(TASK_METADATA, method);
        if (!meta || meta.name !== name) continue;
        const where = `${instance.constructor?.name ?? 'anonymous'}.${methodName} in ${wrapper.host?.name ?? 'a module'}`;
        return wrapper.isDependencyTreeStatic()
          ? `its @Task() is on ${where}, a module loaded after bootstrap (LazyModuleLoader); tasks are discovered at bootstrap only`
          : `its @Task() is on ${where}, a request-scoped provider, skipped at bootstrap`;
      }
    }
    return undefined;
  }

  /**
   * Each forRoot() call is a module instance of its own (ConfigurableModuleBuilder gives it an
   * id, so Nest never merges two), and each instance discovers every task of the application and
   * consumes its queues. Imported by several modules, the process runs a consumer per instance.
   * The first instance says so, once.
   */
  private warnIfImportedTwice(): void {
    const instances = [...this.modules.values()].filter((m) => m.providers.has(TaskExplorer));
    if (instances.length < 2 || instances[0].providers.get(TaskExplorer)?.instance !== this) return;
    // Global modules are linked into every module's imports: the importers come from @Module()
    // metadata, which names the ones that list forRoot() in their own decorator.
    const queueModule = instances[0].metatype;
    const importers = [...this.modules.values()]
      .filter((m) =>
        ((Reflect.getMetadata('imports', m.metatype) as unknown[] | undefined) ?? []).some(
          (i) => i === queueModule || (i as { module?: unknown } | undefined)?.module === queueModule,
        ),
      )
      .map((m) => m.name);
    const by = importers.length > 0 ? ` (by ${importers.join(', ')})` : '';
    this.logger.warn(
      `StreamQueueModule is imported ${instances.length} times${by}: each import is an instance of its own that runs every @Task() queue, so this process consumes each queue ${instances.length} times over (concurrency adds up) and the QueueClient a provider gets depends on import order. Import it once, in the root module: it is global.`,
    );
  }

  /**
   * A @Task() method overridden without @Task(): its metadata sits on the base class's function,
   * which the provider no longer exposes (as with Nest's route decorators), so the task has no
   * handler here. Said at bootstrap, since the task would otherwise just be missing.
   */
  private warnHidden(prototype: object, methodName: string): void {
    let owner: object | null = prototype;
    while (owner && !Object.prototype.hasOwnProperty.call(owner, methodName))
      owner = Object.getPrototypeOf(owner) as object | null;
    for (
      let base = owner && (Object.getPrototypeOf(owner) as object | null);
      base && base !== Object.prototype;
      base = Object.getPrototypeOf(base) as object | null
    ) {
      const hidden = Object.getOwnPropertyDescriptor(base, methodName)?.value as unknown;
      const meta = typeof hidden === 'function' && this.reflector.get<TaskMetadata | undefined>(TASK_METADATA, hidden);
      if (!meta) continue;
      this.logger.warn(
        `${owner!.constructor.name}.${methodName} overrides ${base.constructor.name}.${methodName} without its @Task('${meta.name}'): the task has no handler here. Repeat @Task('${meta.name}') on the override.`,
      );
      return;
    }
  }

  /**
   * A transient provider's static instance is a bare Object.create(prototype) that Nest never
   * constructs (each provider injecting it gets an instance of its own): bound to it, a handler
   * would find every injected dependency undefined. The queue is one more consumer of the
   * provider and resolves an instance of its own.
   */
  private async ownInstance(wrapper: InstanceWrapper): Promise<object> {
    const moduleRef = wrapper.host?.getProviderByKey<ModuleRef>(ModuleRef)?.instance;
    if (!moduleRef) throw new Error(`StreamQueue: no ModuleRef for the module of ${String(wrapper.name)}`);
    return moduleRef.resolve<unknown, object>(wrapper.token, undefined, { strict: true });
  }

  /**
   * `method` is the decorated function found on the prototype chain, called with the provider as
   * `this`: the instance's own property of that name may be a copy without the metadata (a
   * method bound in the constructor), which would lose the task and its method-level enhancers.
   */
  private register(
    wrapper: InstanceWrapper,
    instance: object,
    className: string,
    methodName: string,
    { method, meta }: Decorated,
  ): void {
    const location = `${className}.${methodName}`;
    const { name, ...options } = meta;
    checkName(`@Task() name on ${location}`, name);
    this.registry.add({
      name,
      location,
      module: wrapper.host?.name,
      provider: describeToken(wrapper.token),
      options: resolveTaskOptions(name, options, this.config.resultTtlMs, (queue) => partitionsOf(this.config, queue)),
      handler: this.enhancers.wrap(instance, methodName, method, location),
    });
  }
}

/** A provider token as an error message shows it: a class by name, a string quoted. */
function describeToken(token: unknown): string {
  if (typeof token === 'function') return token.name || 'anonymous class';
  if (typeof token === 'string') return `'${token}'`;
  return String(token);
}
