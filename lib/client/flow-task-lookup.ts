import type { Redis } from 'ioredis';
import type { ListedTask } from '../interfaces';
import type { QueueKeys } from '../redis/keys';
import { isWrongType, namingFlowKey } from '../redis/wrong-type';
import { waitingTaskOf } from './listed-task';
import type { QueueInspector } from './queue-inspector';

/**
 * The record is read again this often when the task moved on between reading it and reading
 * its room member or entry: a wait becomes a hold, a hold goes when the run settles.
 */
const READS = 3;
/** A hold: '<entry id>\0<name>\0<group>'. */
const HOLD = /^(\d{1,20}-\d{1,20})\0/;

/**
 * @internal A task under flow control, by the one field that flow control keeps for it (see
 * includes/flow.lua, F.tasks): a wait, the room member's prefix, lists it as waiting for its
 * slot; a hold, its entry id, lists it as its stream entry (queued, or running once read).
 * One HGET answers where it is, however the room and stream change meanwhile: a listing
 * reads them in separate commands. Undefined when flow control holds nothing for the id.
 */
export async function flowTaskOf(
  redis: Redis,
  inspector: QueueInspector,
  keys: QueueKeys,
  id: string,
): Promise<ListedTask | undefined> {
  for (let read = 0; read < READS; read++) {
    const record = await namingFlowKey(redis, keys.flow.tasks, 'hash', redis.hget(keys.flow.tasks, id));
    if (record === null) return undefined;
    const held = HOLD.exec(record)?.[1];
    if (!held && !record.startsWith('\0')) return undefined;
    const task = held
      ? await inspector.entryTask(keys, held)
      : await waitingMember(redis, keys, `${record.slice(1)}\0${id}\0`, id);
    // The id checked too: a hold names an entry, and a foreign entry there may be another task's.
    if (task?.id === id) return task;
  }
  return undefined;
}

/**
 * The room member that begins with `prefix` (a wait's, then task `id`), listed with when it
 * entered the room (read first: a task admitted in between is not found in the room, and its
 * record is read again); undefined once it left.
 */
async function waitingMember(
  redis: Redis,
  keys: QueueKeys,
  prefix: string,
  id: string,
): Promise<ListedTask | undefined> {
  // flow:entered of another type reads as none, as the scripts read it (includes/flow.lua).
  const entered = await redis.zscore(keys.flow.entered, id).catch((error: unknown) => {
    if (isWrongType(error)) return null;
    throw error;
  });
  const [member] = await namingFlowKey(
    redis,
    keys.flow.room,
    'zset',
    redis.zrangebylex(keys.flow.room, `[${prefix}`, '+', 'LIMIT', 0, 1),
  );
  return member?.startsWith(prefix) ? waitingTaskOf(member, entered) : undefined;
}
