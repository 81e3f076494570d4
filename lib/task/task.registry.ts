import { Injectable } from '@nestjs/common';
import { DuplicateTaskError } from '../errors/index';
import type { ResolvedTaskOptions } from './resolved-task-options';

/** @internal A discovered handler, bound to its provider instance. */
export interface TaskDefinition {
  readonly name: string;
  readonly options: ResolvedTaskOptions;
  /** `Class.method`, for error messages. */
  readonly location: string;
  /** The module providing the instance: one class listed by two modules makes two handlers. */
  readonly module?: string;
  /**
   * The provider's token as text, after its kind (`provider Class`, `provider 'TOKEN'`,
   * `controller Class`): one class under two tokens of a module, or its controller and provider.
   */
  readonly provider?: string;
  readonly handler: (payload: unknown, ctx: unknown) => unknown;
}

/** @internal name -> handler, filled by the explorer during onModuleInit, then read-only. */
@Injectable()
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();
  private locate: ((name: string) => string | undefined) | undefined;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };
  private filling!: Promise<void>;
  private done = false;

  constructor() {
    this.arm();
  }

  /**
   * Settles once the explorer has registered every handler (rejects if discovery failed). The
   * explorer finishes asynchronously when a transient provider needs an instance of its own, so
   * what reads the registry during onModuleInit (the partition layouts) waits for it.
   */
  get filled(): Promise<void> {
    return this.filling;
  }

  /**
   * Whether discovery registered every handler: until then (before the application's init, or
   * after a failed one) no name can be told known or unknown, nor its queue and options.
   */
  get isFilled(): boolean {
    return this.done;
  }

  /** @internal The explorer's end: every handler registered, or `error`. */
  markFilled(error?: unknown): void {
    this.done = error === undefined;
    if (error === undefined) this.settle.resolve();
    else this.settle.reject(error);
  }

  /**
   * @internal A failed discovery is undone, so that `init()` again explores from the start: its
   * handlers are forgotten and `filled` waits for the next discovery.
   */
  reset(): void {
    this.tasks.clear();
    this.done = false;
    this.arm();
  }

  private arm(): void {
    this.filling = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Whoever awaits it sees the failure; bootstrap fails with the explorer's own throw.
    this.filling.catch(() => undefined);
  }

  add(definition: TaskDefinition): void {
    const existing = this.tasks.get(definition.name);
    if (existing) {
      // One class, two instances: the modules that provide it tell the two apart, or, within one
      // module, the tokens it is provided under.
      const sameClass = existing.location === definition.location;
      const sameModule = existing.module === definition.module;
      const where = (d: TaskDefinition) => {
        if (!sameClass) return d.location;
        const token = sameModule && d.provider ? ` (${d.provider})` : '';
        return d.module ? `${d.location}${token} in ${d.module}` : `${d.location}${token}`;
      };
      throw new DuplicateTaskError(definition.name, where(existing), where(definition));
    }
    this.tasks.set(definition.name, definition);
  }

  /** @internal Set by the explorer: where a @Task() of a name without handler is declared, and why. */
  explainWith(locate: (name: string) => string | undefined): void {
    this.locate = locate;
  }

  /** Why `name` has no handler though a `@Task()` of the application declares it, if one does. */
  whyMissing(name: string): string | undefined {
    return this.locate?.(name);
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
