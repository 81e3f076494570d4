import type { DiscoveryService, ModulesContainer } from '@nestjs/core';
import { StreamQueueError } from '../errors';
import { INTERCEPTORS_METADATA } from './task.enhancers';

type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/** What bootstrap says about a task's interceptors: an error that fails it, or a warning. */
export interface InterceptorsProblem {
  readonly error?: StreamQueueError;
  readonly warning?: string;
}

/**
 * @internal Checks the interceptor classes a task's class and method declare as Nest resolves
 * them for its runs (ExternalContextCreator): among the enhancers of the module that provides
 * the task's instance or class. A class found nowhere there (the task is on a controller, or on
 * a useFactory/useValue provider, whose class's enhancers Nest never registers) is left out of
 * the chain: warned about, as ignored guards are. A transient one found there runs on an
 * instance whose constructor never ran (Nest gives a transient enhancer an instance of its own
 * only for a request, a provider it is injected into, or an entry provider, whose host it
 * passes as the inquirer), its dependencies undefined, so every run would fail and be
 * dead-lettered: bootstrap fails.
 */
export function declaredInterceptorsProblem(
  modules: ModulesContainer,
  wrapper: InstanceWrapper,
  instance: object,
  method: unknown,
  taskName: string,
  location: string,
): InterceptorsProblem | undefined {
  const classRef = instance.constructor;
  const declared = [classRef, method]
    .flatMap((t) => (Reflect.getMetadata(INTERCEPTORS_METADATA, t as object) as unknown[] | undefined) ?? [])
    // An instance given to @UseInterceptors() is used as it is; a class is Nest's to resolve.
    .filter((i): i is abstract new (...args: never[]) => unknown => typeof i === 'function');
  if (declared.length === 0) return undefined;
  const hosts = [...modules.values()].filter(
    (m) => m.hasProvider(classRef) || [...m.providers.values()].some((w) => !w.isAlias && w.instance === instance),
  );
  const resolved = (i: (typeof declared)[number]) =>
    hosts.map((m) => m.injectables.get(i)).find((w) => w !== undefined);
  const leftOut = declared.filter((i) => !resolved(i));
  if (leftOut.length > 0) {
    const names = [...new Set(leftOut.map((i) => i.name || 'anonymous'))].join(', ');
    return {
      warning: `@Task('${taskName}') on ${location} declares interceptors (${names}) that Nest leaves out of its runs: it finds a task's interceptor classes among the enhancers of the class provider that holds it, and ${classRef.name || 'this class'} is not one (a controller, or a provider built by useFactory or useValue). Move the task to a class provider, or give @UseInterceptors() an instance.`,
    };
  }
  if (onEntryProvider(wrapper)) return undefined;
  const transient = declared.find((i) => resolved(i)?.isTransient);
  if (!transient) return undefined;
  const name = transient.name || 'anonymous interceptor';
  return {
    error: new StreamQueueError(
      'TRANSIENT_INTERCEPTOR',
      `@Task('${taskName}') on ${location}: its interceptor ${name} is transient (Scope.TRANSIENT). Nest gives a transient enhancer an instance only for a request, a provider it is injected into or an entry provider, and a task run here is none of these: the interceptor would run with its dependencies undefined, and every run would fail. Give ${name} the default (singleton) scope.`,
    ),
  };
}

/**
 * Whether the task's provider is an entry provider (marked so by a framework decorator): Nest
 * passes it as the inquirer, so transient enhancers, its own and global ones, reach its runs.
 */
export function onEntryProvider(wrapper: InstanceWrapper): boolean {
  return wrapper.host?.entryProviders?.includes(wrapper) ?? false;
}
