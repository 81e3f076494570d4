import type { Redis } from 'ioredis';
import { TaskNotFoundError, TaskRunningError } from '../errors';
import type { ListedTask } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { removeTaskScript } from '../scripts/remove-task.script';
import { MAX_PAGE_SIZE } from './page-options';
import type { QueueInspector } from './queue-inspector';

/** A task located, then moved before the removal (promoted, say) is looked up again this often. */
const ATTEMPTS = 3;

/**
 * @internal Removes a queued or delayed task by id. Finding it reads the waiting part of the
 * stream, the flow waiting room and the delayed set page by page (an operator's action, not a hot path); the removal
 * itself is one script that re-checks everything, so a task a worker read meanwhile is never
 * taken from it.
 */
export async function removeTask(
  redis: Redis,
  inspector: QueueInspector,
  keys: QueueKeys,
  id: string,
  stateTtlMs: number,
): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const task = await locate(inspector, keys, id, ['queued', 'delayed']);
    if (!task) break;
    const where = task.waitingForSlot ? 'waiting' : task.state === 'delayed' ? 'delayed' : 'queued';
    const reply = await removeTaskScript(keys, { ...task, state: where }, stateTtlMs).run(redis);
    if (reply === 'removed') return;
    if (reply === 'running') throw new TaskRunningError(keys.queue, id);
  }
  if (await locate(inspector, keys, id, ['running'])) throw new TaskRunningError(keys.queue, id);
  throw new TaskNotFoundError(keys.queue, id, 'queued or delayed task');
}

/** @internal Finds a task by id in the given listings, page by page. */
export async function locate(
  inspector: QueueInspector,
  keys: QueueKeys,
  id: string,
  states: ('queued' | 'delayed' | 'running' | 'dead')[],
): Promise<(ListedTask & { id: string }) | undefined> {
  for (const state of states) {
    let cursor: string | null | undefined;
    do {
      const page =
        state === 'delayed'
          ? await inspector.delayed(keys, { limit: MAX_PAGE_SIZE, delayedAfter: cursorOf(cursor) })
          : await inspector[state](keys, { limit: MAX_PAGE_SIZE, after: cursor ?? undefined });
      const found = page.tasks.find((t) => t.id === id);
      if (found) return found as ListedTask & { id: string };
      cursor = page.cursor;
    } while (cursor);
  }
  return undefined;
}

function cursorOf(cursor: string | null | undefined): [number, number] | undefined {
  if (!cursor) return undefined;
  const [score, skip] = cursor.split(':').map(Number);
  return [score, skip];
}
