import type { Delivery } from './delivery';
import type { TaskDefinition } from '../task/task.registry';

/** @internal How a run ended, before Redis settles it. */
export type Outcome =
  | {
      readonly kind: 'completed';
      readonly delivery: Delivery;
      readonly definition: TaskDefinition;
      readonly result: string;
      readonly resultTtlMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly delivery: Delivery;
      readonly error: { name: string; message: string };
      readonly definition: TaskDefinition | undefined;
      /** Set when the task can never run (unknown name, payload that does not decode): no retry. */
      readonly deadReason?: string;
    }
  /** Aborted at the shutdown deadline: left pending for another worker to reclaim. */
  | { readonly kind: 'abandoned'; readonly delivery: Delivery };
