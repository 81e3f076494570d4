import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef, ModulesContainer } from '@nestjs/core';
import { STREAM_QUEUE_CONFIG } from '../stream-queue.constants';
import { partitionsOf, type StreamQueueConfig } from '../stream-queue.config';
import type { TaskMetadata } from './task.decorator';
import {
  hiddenTask,
  hiddenTasks,
  importedTwiceWarning,
  missingTaskReasons,
  requestScopedCause,
  taskMetadataOf,
} from './discovery-notes';
import { scopedGlobalInterceptorsWarning } from './scoped-global-interceptors';
import { INTERCEPTORS_METADATA, TaskEnhancers, declares } from './task.enhancers';
import { declaredInterceptorsProblem, onEntryProvider } from './declared-interceptors';
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
  /** The Class.method of each task in an interceptor chain that scoped global interceptors miss. */
  private readonly chained: string[] = [];
  /** The discovery, once it succeeded (see onModuleInit). */
  private discovered?: Promise<void>;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: TaskRegistry,
    @Inject(STREAM_QUEUE_CONFIG) private readonly config: StreamQueueConfig,
    private readonly enhancers: TaskEnhancers,
    private readonly modules: ModulesContainer,
  ) {}

  /**
   * `init()` again after a failed one (Redis refused it, a user's onModuleInit threw) runs every
   * onModuleInit again: the handlers found the first time stay registered, once. A discovery that
   * failed was undone (registry reset) and runs again, to report its own error, not a duplicate
   * of the handlers it registered before it.
   */
  onModuleInit(): Promise<void> {
    this.discovered ??= this.discover().catch((error: unknown) => {
      this.discovered = undefined;
      this.chained.length = 0;
      this.registry.reset();
      throw error;
    });
    return this.discovered;
  }

  private async discover(): Promise<void> {
    const instances = [...this.modules.values()].filter((m) => m.providers.has(TaskExplorer));
    // Said once, by the first instance.
    const twice =
      instances[0]?.providers.get(TaskExplorer)?.instance === this && importedTwiceWarning(this.modules, instances);
    if (twice) this.logger.warn(twice);
    // Rebuilt when a module was added since (a lazy load), else read as built.
    let index: { modules: number; reasons: Map<string, string> } | undefined;
    this.registry.explainWith((name) => {
      if (index?.modules !== this.modules.size) {
        const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
        index = { modules: this.modules.size, reasons: missingTaskReasons(wrappers, this.scanner) };
      }
      return index.reasons.get(name);
    });
    // One instance may sit behind several tokens without being an alias (a factory handing back
    // an injected provider, one object given as useValue twice): its handlers are registered once.
    const explored = new Set<unknown>();
    try {
      const providers = this.discovery.getProviders().map((wrapper) => ({ wrapper, kind: 'provider' as const }));
      const controllers = this.discovery.getControllers().map((wrapper) => ({ wrapper, kind: 'controller' as const }));
      for (const { wrapper, kind } of [...providers, ...controllers]) {
        if (explored.has(wrapper.instance)) continue;
        explored.add(wrapper.instance);
        // Synchronous but for a transient provider's own instance, which Nest resolves asynchronously.
        const resolving = this.explore(wrapper, kind);
        if (resolving) await resolving;
      }
      const scopedGlobals = scopedGlobalInterceptorsWarning(this.modules, this.chained);
      if (scopedGlobals) this.logger.warn(scopedGlobals);
      this.registry.markFilled();
    } catch (error) {
      this.registry.markFilled(error);
      throw error;
    }
  }

  /** `kind`: a class listed both as a controller and as a provider of one module is two instances. */
  private explore(wrapper: InstanceWrapper, kind: 'provider' | 'controller'): Promise<void> | undefined {
    const { instance } = wrapper;
    if (!instance || typeof instance !== 'object' || wrapper.isAlias) return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    const decorated = new Map<string, Decorated>();
    const methodNames = this.scanner.getAllMethodNames(prototype);
    for (const methodName of methodNames) {
      const method = (prototype as Record<string, unknown>)[methodName];
      const meta = taskMetadataOf(method);
      if (meta) {
        decorated.set(methodName, { method: method as Decorated['method'], meta });
        continue;
      }
      const hidden = hiddenTask(prototype, methodName);
      if (hidden) this.logger.warn(hidden.warning);
    }
    for (const hidden of hiddenTasks(prototype, methodNames)) this.logger.warn(hidden.warning);
    if (decorated.size === 0) return;
    const className = instance.constructor?.name ?? 'anonymous';
    if (!wrapper.isDependencyTreeStatic()) {
      const cause = requestScopedCause(wrapper);
      for (const [methodName, { meta }] of decorated) {
        this.logger.warn(
          `@Task('${meta.name}') on ${className}.${methodName}: ${cause}; @Task() handlers need a provider that lives outside requests and it is skipped.`,
        );
      }
      return;
    }
    const register = (target: object) => {
      for (const [methodName, found] of decorated) this.register(wrapper, kind, target, className, methodName, found);
    };
    if (wrapper.isTransient) return this.ownInstance(wrapper).then(register);
    register(instance);
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
    kind: 'provider' | 'controller',
    instance: object,
    className: string,
    methodName: string,
    { method, meta }: Decorated,
  ): void {
    const location = `${className}.${methodName}`;
    const { name, ...options } = meta;
    checkName(`@Task() name on ${location}`, name);
    const problem = declaredInterceptorsProblem(this.modules, wrapper, instance, method, name, location);
    if (problem?.error) throw problem.error;
    if (problem?.warning) this.logger.warn(problem.warning);
    if (declares(INTERCEPTORS_METADATA, instance, method) && !onEntryProvider(wrapper)) this.chained.push(location);
    this.registry.add({
      name,
      location,
      module: wrapper.host?.name,
      provider: `${kind} ${describeToken(wrapper.token)}`,
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
