import { SetMetadata } from '@nestjs/common';
import { InvalidOptionError } from '../errors/index';
import { TASK_METADATA } from '../stream-queue.constants';
import { snapshotOptions } from '../options-snapshot';
import type { TaskOptions } from '../interfaces/index';

/** @internal What `@Task()` records on a method. */
export interface TaskMetadata extends TaskOptions {
  readonly name: string;
}

/**
 * Marks a provider method as the handler of task `name`. The method receives the payload and a
 * `TaskContext`; what it returns becomes the task's result. Options are validated at bootstrap.
 * A method takes one `@Task()`: a second would overwrite the first, leaving its name unhandled.
 * It goes on an instance method with a string name: discovery reads nothing else.
 * @publicApi
 */
export function Task(name: string, options: TaskOptions = {}): MethodDecorator {
  // Read once, here: an option whose getter throws is refused by name (snapshotOptions). String():
  // a symbol name (from JavaScript, or a cast) is refused at bootstrap, and a template literal
  // would throw a TypeError on it here instead.
  const record = SetMetadata(TASK_METADATA, {
    ...snapshotOptions(options, `@Task('${String(name)}').`),
    name,
  } satisfies TaskMetadata);
  return (target, key, descriptor) => {
    checkTarget(name, target, key, descriptor);
    const earlier = Reflect.getMetadata(TASK_METADATA, descriptor.value as object) as TaskMetadata | undefined;
    if (earlier) {
      throw new InvalidOptionError(
        `@Task('${String(name)}')`,
        `one @Task() per method (${String(key)} already has @Task('${String(earlier.name)}'))`,
        name,
      );
    }
    return record(target, key, descriptor);
  };
}

/**
 * Discovery walks a provider's prototype chain for methods with string names, so a static method,
 * a symbol-named one, an accessor or a field would never be registered: the task would have no
 * handler and nothing would say why. Each is refused where the class is defined.
 */
function checkTarget(
  name: string,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor | undefined,
): void {
  const isStatic = typeof target === 'function';
  const owner = (isStatic ? (target as { name?: string }).name : target.constructor?.name) || 'anonymous';
  const refuse = (what: string) => {
    throw new InvalidOptionError(
      `@Task('${String(name)}')`,
      `an instance method with a string name (${owner}.${String(key)} is ${what})`,
      name,
    );
  };
  if (isStatic) refuse('static');
  if (typeof key === 'symbol') refuse('named by a symbol, and discovery reads methods by string name');
  if (!descriptor) refuse('a property');
  if (descriptor?.get || descriptor?.set) refuse('an accessor');
  if (typeof descriptor?.value !== 'function') refuse('not a function');
}
