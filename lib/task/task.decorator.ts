import { SetMetadata } from '@nestjs/common';
import { TASK_METADATA } from '../stream-queue.constants';
import type { TaskOptions } from '../interfaces/index';

/** @internal What `@Task()` records on a method. */
export interface TaskMetadata extends TaskOptions {
  readonly name: string;
}

/**
 * Marks a provider method as the handler of task `name`. The method receives the payload and a
 * `TaskContext`; what it returns becomes the task's result. Options are validated at bootstrap.
 * @publicApi
 */
export function Task(name: string, options: TaskOptions = {}): MethodDecorator {
  return SetMetadata(TASK_METADATA, { ...options, name } satisfies TaskMetadata);
}
