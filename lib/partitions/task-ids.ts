import { randomUUID } from 'node:crypto';

/**
 * Task ids say where their task lives: a UUID in partition 0 (so a queue of one partition keeps
 * the ids it always had), `<uuid>~<p>` in partition p. A handle rebuilt from an id alone
 * (`QueueClient.handle(id, { queue })`) reads the right partition, even after a change of the
 * partition count, with no key or partition passed along.
 */
const SUFFIX = /~(\d{1,4})$/;

/** @internal A new task id for a task written to `partition`. */
export function newTaskId(partition: number): string {
  return partition === 0 ? randomUUID() : `${randomUUID()}~${partition}`;
}

/** @internal The partition a task id was created in: 0 without a suffix. */
export function partitionOfTaskId(id: string): number {
  const match = SUFFIX.exec(id);
  return match ? Number(match[1]) : 0;
}
