import { Scope } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { TASK_METADATA } from '../stream-queue.constants';
import type { TaskMetadata } from './task.decorator';

/**
 * @internal What discovery tells the user about tasks it cannot register, in words: each of
 * these cases left a task without a handler, and nothing said why.
 */

type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/** The @Task() metadata of `value`, when it is a decorated function. */
export function taskMetadataOf(value: unknown): TaskMetadata | undefined {
  return typeof value === 'function'
    ? (Reflect.getMetadata(TASK_METADATA, value) as TaskMetadata | undefined)
    : undefined;
}

/** A @Task() that an override hides (see hiddenTask): the task's name, and the warning naming both. */
export interface HiddenTask {
  readonly task: string;
  readonly warning: string;
}

/**
 * A @Task() method overridden without @Task(): its metadata sits on the base class's function,
 * which the provider no longer exposes (as with Nest's route decorators), so the task has no
 * handler. The override may be a method, or an accessor or a value that is no function, which
 * getAllMethodNames skips with the base's method behind it (see hiddenTasks). Undefined when
 * `methodName` hides no @Task().
 */
export function hiddenTask(prototype: object, methodName: string): HiddenTask | undefined {
  let owner: object | null = prototype;
  while (owner && !Object.prototype.hasOwnProperty.call(owner, methodName)) {
    owner = Object.getPrototypeOf(owner) as object | null;
  }
  if (!owner) return undefined;
  for (
    let base = Object.getPrototypeOf(owner) as object | null;
    base && base !== Object.prototype;
    base = Object.getPrototypeOf(base) as object | null
  ) {
    const meta = taskMetadataOf(Object.getOwnPropertyDescriptor(base, methodName)?.value);
    if (!meta) continue;
    const override = `${owner.constructor.name}.${methodName}`;
    const hidden = `${base.constructor.name}.${methodName}`;
    const { get, set, value } = Object.getOwnPropertyDescriptor(owner, methodName)!;
    if (get || set || typeof value !== 'function') {
      const what = get || set ? 'an accessor' : 'a value that is no method';
      return {
        task: meta.name,
        warning: `${override} overrides ${hidden} with ${what}, which hides its @Task('${meta.name}'): the task has no handler here. Only a method takes @Task(): make ${override} a method with @Task('${meta.name}').`,
      };
    }
    return {
      task: meta.name,
      warning: `${override} overrides ${hidden} without its @Task('${meta.name}'): the task has no handler here. Repeat @Task('${meta.name}') on the override.`,
    };
  }
  return undefined;
}

/**
 * The @Task()s hidden under the names of `prototype`'s chain that getAllMethodNames left out
 * (`methods`): an accessor or a non-function overriding a @Task() method hides it just as a
 * method does, but discovery, reading methods only, would never say so.
 */
export function hiddenTasks(prototype: object, methods: readonly string[]): HiddenTask[] {
  const seen = new Set(methods);
  const hidden: HiddenTask[] = [];
  for (
    let owner: object | null = prototype;
    owner && owner !== Object.prototype;
    owner = Object.getPrototypeOf(owner) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(owner)) {
      if (seen.has(name) || name === 'constructor') continue;
      seen.add(name);
      const found = hiddenTask(prototype, name);
      if (found) hidden.push(found);
    }
  }
  return hidden;
}

/**
 * Why a provider discovery skips is request-scoped, in words. Nest counts the enhancers a class
 * declares (interceptors, guards, pipes, filters) in its dependency tree: one request-scoped
 * enhancer, on one method, makes every task of the class request-scoped, and then the provider's
 * own scope and dependencies are not where to look.
 */
export function requestScopedCause(wrapper: InstanceWrapper): string {
  const own = [...(wrapper.getCtorMetadata() ?? []), ...(wrapper.getPropertiesMetadata() ?? []).map((p) => p.wrapper)];
  const ownScoped = wrapper.scope === Scope.REQUEST || own.some((dep) => dep && !dep.isDependencyTreeStatic());
  const enhancers = (wrapper.getEnhancersMetadata() ?? []).filter((e) => !e.isDependencyTreeStatic());
  if (ownScoped || enhancers.length === 0)
    return 'the provider is request-scoped (or depends on a request-scoped provider)';
  const names = [...new Set(enhancers.map((e) => String(e.name)))].join(', ');
  return `an enhancer it declares (${names}) is request-scoped (or depends on a request-scoped provider), which makes the provider so (give the enhancer the default scope and no request-scoped dependency, or move the tasks to a provider that does not declare it)`;
}

/**
 * Where each @Task() name of the application is declared on a provider discovery skipped, and
 * why it has no handler: a module loaded after bootstrap (LazyModuleLoader runs no lifecycle
 * hook, and the queues are mounted once), a request-scoped provider, or an override in a
 * subclass that hides it (bootstrap warned, but the UnknownTaskError is where a caller looks).
 * Built in one scan, read per name without a handler (anyone can write such names to a stream:
 * never a scan per name).
 */
export function missingTaskReasons(
  wrappers: readonly InstanceWrapper[],
  scanner: MetadataScanner,
): Map<string, string> {
  const reasons = new Map<string, string>();
  for (const wrapper of wrappers) {
    const { instance } = wrapper;
    if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
    if (!prototype) continue;
    const methodNames = scanner.getAllMethodNames(prototype);
    const hidden = [
      ...methodNames.flatMap((methodName) =>
        taskMetadataOf(prototype[methodName]) ? [] : (hiddenTask(prototype, methodName) ?? []),
      ),
      ...hiddenTasks(prototype, methodNames),
    ];
    // The warning reads as the reason: the error adds its own full stop.
    for (const { task, warning } of hidden) if (!reasons.has(task)) reasons.set(task, warning.replace(/\.$/, ''));
    for (const methodName of methodNames) {
      const name = taskMetadataOf(prototype[methodName])?.name;
      if (name === undefined || reasons.has(name)) continue;
      const where = `${instance.constructor?.name ?? 'anonymous'}.${methodName} in ${wrapper.host?.name ?? 'a module'}`;
      reasons.set(
        name,
        wrapper.isDependencyTreeStatic()
          ? `its @Task() is on ${where}, a module loaded after bootstrap (LazyModuleLoader); tasks are discovered at bootstrap only`
          : `its @Task() is on ${where}, a request-scoped provider, skipped at bootstrap: ${requestScopedCause(wrapper)}`,
      );
    }
  }
  return reasons;
}

/**
 * Each forRoot() call is a module instance of its own (ConfigurableModuleBuilder gives it an id,
 * so Nest never merges two), and each instance discovers every task of the application and
 * consumes its queues. The warning when `instances` (the modules of StreamQueueModule) are
 * several, naming the modules whose @Module() imports list one.
 */
export function importedTwiceWarning(
  modules: ModulesContainer,
  instances: readonly { metatype: unknown }[],
): string | undefined {
  if (instances.length < 2) return undefined;
  // Global modules are linked into every module's imports: the importers come from @Module()
  // metadata, which names the ones that list forRoot() in their own decorator.
  const queueModule = instances[0].metatype;
  const importers = [...modules.values()]
    .filter((m) =>
      ((Reflect.getMetadata('imports', m.metatype) as unknown[] | undefined) ?? []).some(
        (i) => i === queueModule || (i as { module?: unknown } | undefined)?.module === queueModule,
      ),
    )
    .map((m) => m.name);
  const by = importers.length > 0 ? ` (by ${importers.join(', ')})` : '';
  return `StreamQueueModule is imported ${instances.length} times${by}: each import is an instance of its own that runs every @Task() queue, so this process consumes each queue ${instances.length} times over (concurrency adds up) and the QueueClient a provider gets depends on import order. Import it once, in the root module: it is global.`;
}
