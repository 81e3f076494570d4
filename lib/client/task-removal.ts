import type { Redis } from 'ioredis';
import { TaskNotFoundError, TaskRunningError } from '../errors';
import type { ListedState, ListedTask } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { queueStateRefusal } from '../scripts/queue-state.script';
import { removeTaskScript } from '../scripts/remove-task.script';
import { flowTaskOf } from './flow-task-lookup';
import { checkPage, MAX_PAGE_SIZE } from './page-options';
import type { QueueInspector } from './queue-inspector';

/** A task located, then moved before the removal (promoted, say) is looked up again this often. */
const ATTEMPTS = 3;

/**
 * @internal Removes a queued or delayed task by id. Finding it (locate) reads a flow task's
 * record, else the delayed set, the waiting part of the stream and the flow waiting room page by
 * page (an operator's action, not a hot path); the removal itself is one script that re-checks
 * everything, so a task a worker read meanwhile is never taken from it.
 */
export async function removeTask(
  redis: Redis,
  inspector: QueueInspector,
  keys: QueueKeys,
  id: string,
  stateTtlMs: number,
): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // Running read in the same passes: a run that fails into its retry while it is looked for
    // moves back to the delayed set, behind that listing (a second pass finds it there).
    const task = await locate(redis, inspector, keys, id, ['queued', 'delayed', 'running']);
    if (!task) break;
    if (task.state === 'running') throw new TaskRunningError(keys.queue, id);
    const where = task.waitingForSlot ? 'waiting' : task.state === 'delayed' ? 'delayed' : 'queued';
    const reply = await removeTaskScript(keys, { ...task, state: where }, stateTtlMs)
      .run(redis)
      .catch((error: Error) => {
        throw queueStateRefusal(keys, error);
      });
    if (reply === 'removed') return;
    if (reply === 'running') throw new TaskRunningError(keys.queue, id);
  }
  throw new TaskNotFoundError(keys.queue, id, 'queued or delayed task');
}

/** The listings in the order a task moves through them (a retry or a redrive aside). */
const FORWARD: readonly ListedState[] = ['delayed', 'queued', 'running', 'dead'];

/**
 * @internal Finds a task by id in the given listings, page by page, each listing read in FORWARD
 * order whatever the order of `states`. A task only moving on (delayed, then the flow waiting
 * room, then the stream, then a worker's pending list) cannot slip past them all: each listing
 * finds it or it left before its page was read, so it is in a later one by then (a flow task
 * admitted from the room while the queued listing reads the room is in the stream past the
 * entry the room cursor names, which the room pages read too). Flow control's one field per
 * task (flowTaskOf) spares the paging: read before the listings, it finds any flow task waiting
 * or admitted; read again after them, it finds one that came into the room or the stream
 * meanwhile (a retry promoted from the delayed set during the delayed listing, say). Only the
 * queued listing holds flow tasks (admitted ones may since run): other listings skip the lookup.
 */
export async function locate(
  redis: Redis,
  inspector: QueueInspector,
  keys: QueueKeys,
  id: string,
  states: readonly ListedState[],
): Promise<(ListedTask & { id: string }) | undefined> {
  const flow = states.includes('queued');
  const flowTask = async () => (flow ? await flowTaskOf(redis, inspector, keys, id) : undefined);
  // Two passes: a task that moved backwards during the first (a run failing into its retry, a
  // redrive) is where the second looks. The flow record is read before the listings and after
  // each pass (the read closing one pass opens the next).
  let found = await flowTask();
  for (let pass = 0; pass < 2 && !found; pass++)
    found = (await listed(inspector, keys, id, states)) ?? (await flowTask());
  return found as (ListedTask & { id: string }) | undefined;
}

/**
 * The task in the listings, paged with the cursors each page returns, checked as the public
 * listing checks them (a queued page may end in the waiting room: its cursor is the room's).
 */
async function listed(
  inspector: QueueInspector,
  keys: QueueKeys,
  id: string,
  states: readonly ListedState[],
): Promise<ListedTask | undefined> {
  for (const state of FORWARD.filter((s) => states.includes(s))) {
    // A cursor seen before would only bring back pages already read: stop, never loop for ever.
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await inspector[state](keys, checkPage(state, { limit: MAX_PAGE_SIZE, cursor }));
      const found = page.tasks.find((t) => t.id === id);
      if (found) return found;
      cursor = page.cursor ?? undefined;
      if (cursor !== undefined && seen.has(cursor)) break;
      if (cursor !== undefined) seen.add(cursor);
    } while (cursor);
  }
  return undefined;
}
