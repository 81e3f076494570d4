import { SetMetadata } from '@nestjs/common';
import { InvalidOptionError } from '../errors/index';
import { TASK_METADATA } from '../stream-queue.constants';
import type { TaskOptions } from '../interfaces/index';

/** @internal What `@Task()` records on a method. */
export interface TaskMetadata extends TaskOptions {
  readonly name: string;
}

/**
 * Marks a provider method as the handler of task `name`. The method receives the payload and a
 * `TaskContext`; what it returns becomes the task's result. Options are validated at bootstrap.
 * A method takes one `@Task()`: a second would overwrite the first, leaving its name unhandled.
 * @publicApi
 */
export function Task(name: string, options: TaskOptions = {}): MethodDecorator {
  const record = SetMetadata(TASK_METADATA, { ...options, name } satisfies TaskMetadata);
  return (target, key, descriptor) => {
    const earlier = Reflect.getMetadata(TASK_METADATA, descriptor.value as object) as TaskMetadata | undefined;
    if (earlier) {
      throw new InvalidOptionError(
        `@Task('${name}')`,
        `one @Task() per method (${String(key)} already has @Task('${earlier.name}'))`,
        name,
      );
    }
    return record(target, key, descriptor);
  };
}
