import { Injectable } from '@nestjs/common';
import { DuplicateTaskError } from '../errors/index';
import type { ResolvedTaskOptions } from './resolved-task-options';

/** @internal A discovered handler, bound to its provider instance. */
export interface TaskDefinition {
  readonly name: string;
  readonly options: ResolvedTaskOptions;
  /** `Class.method`, for error messages. */
  readonly location: string;
  readonly handler: (payload: unknown, ctx: unknown) => unknown;
}

/** @internal name -> handler, filled by the explorer during onModuleInit, then read-only. */
@Injectable()
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();

  add(definition: TaskDefinition): void {
    const existing = this.tasks.get(definition.name);
    if (existing) throw new DuplicateTaskError(definition.name, existing.location, definition.location);
    this.tasks.set(definition.name, definition);
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()];
  }

  /** Queues that have at least one handler here: the ones this process consumes. */
  queues(): string[] {
    return [...new Set([...this.tasks.values()].map((t) => t.options.queue))];
  }

  get size(): number {
    return this.tasks.size;
  }
}
