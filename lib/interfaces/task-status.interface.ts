/**
 * Where a run is. Keyed runs report every state; a task without a key keeps no run state (each
 * would cost writes on the hot path), so until it settles it reports `pending`.
 * @publicApi
 */
export type TaskState = 'pending' | 'queued' | 'delayed' | 'running' | 'completed' | 'failed' | 'cancelled';

/** @publicApi */
export interface TaskStatus {
  readonly state: TaskState;
  /** The run this status describes (for a key: its latest run). */
  readonly id: string | undefined;
  readonly key: string | undefined;
  /** Undefined when the key's state holds none that reads as one (anyone can write it). */
  readonly generation: number | undefined;
  readonly attempt: number | undefined;
  readonly enqueuedAt?: Date;
  readonly dueAt?: Date;
  readonly startedAt?: Date;
  readonly finishedAt?: Date;
  /** Dead-letter reason of a failed run. */
  readonly error?: string;
}
