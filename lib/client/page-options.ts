import { InvalidOptionError } from '../errors';
import type { ListedState, PageOptions } from '../interfaces';
import { parseEntryId } from '../redis/entry-id';
import { MAX_GROUP_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH } from '../task/task-message';

/** @internal Largest page a listing returns: a page is one bounded read. */
export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;
/**
 * A delayed-set cursor: the last due time returned, and how many at that due time were returned.
 * The due time is the score as Redis prints it: anyone can ZADD a member at 1000.5, 1e+17 or
 * inf, and a page ending on one must give a cursor the next page takes.
 */
const DELAYED_CURSOR = /^(-?(?:inf|\d{1,20}(?:\.\d{1,24})?(?:e[+-]\d{1,3})?)):(\d{1,9})$/;
/**
 * The longest room cursor: a member up to its task id ('<name>\0<group>\0<rank>\0<task id>') at
 * its longest, a name, a group and a task id as long as a worker accepts them from any producer
 * (task-message.ts), each character up to 3 bytes in UTF-8, with the 32-digit rank and 3 NULs,
 * in base64url.
 */
const MAX_ROOM_CURSOR = Math.ceil(((3 * (MAX_NAME_LENGTH + MAX_GROUP_LENGTH + MAX_ID_LENGTH) + 32 + 3) * 4) / 3);
/**
 * A queued listing's cursor in the flow waiting room: `w:`, the last member listed up to its task
 * id (base64url), then `:` and the last stream entry id the listing read (where tasks admitted
 * from the room since are). A cursor without the entry id (issued before it was added) resumes
 * with the stream's unread tasks. At most MAX_ROOM_CURSOR + 44 characters (`w:` and the `:` id).
 */
const ROOM_CURSOR = new RegExp(`^w:([A-Za-z0-9_-]{0,${MAX_ROOM_CURSOR}})(?::(\\d{1,20}-\\d{1,20}))?$`);
const STATES: readonly ListedState[] = ['queued', 'delayed', 'running', 'dead'];

/** @internal A listing's validated page. */
export interface Page {
  readonly limit: number;
  /** Stream listings: the exclusive start; delayed: [due time, members at it already returned]. */
  readonly after?: string;
  readonly delayedAfter?: [score: string, skip: number];
  /** Queued: the page lists the waiting room, past the member this one begins ('' = from its start). */
  readonly roomAfter?: string;
  /** Queued, with roomAfter: the page also lists the stream past this entry id (none: its unread tasks). */
  readonly streamAfter?: string;
}

/** @internal Validates a listing's state; throws InvalidOptionError naming what is wrong. */
export function checkState(state: unknown): ListedState {
  if (!STATES.includes(state as ListedState))
    throw new InvalidOptionError('state', `one of ${STATES.join(', ')}`, state);
  return state as ListedState;
}

/** @internal Validates paging options against the listing's cursor shape. */
export function checkPage(state: ListedState, options: PageOptions): Page {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new InvalidOptionError('limit', `an integer from 1 to ${MAX_PAGE_SIZE}`, limit);
  const { cursor } = options;
  if (cursor === undefined || cursor === '') return { limit };
  if (typeof cursor !== 'string')
    throw new InvalidOptionError('cursor', 'a cursor string from a previous page', cursor);
  if (state === 'delayed') {
    const match = DELAYED_CURSOR.exec(cursor);
    if (!match) throw new InvalidOptionError('cursor', 'a delayed-listing cursor such as "1700000000000:1"', cursor);
    return { limit, delayedAfter: [match[1], Number(match[2])] };
  }
  const room = state === 'queued' ? ROOM_CURSOR.exec(cursor) : null;
  if (room) {
    const roomAfter = Buffer.from(room[1], 'base64url').toString();
    if (room[2] === undefined) return { limit, roomAfter };
    const streamAfter = parseEntryId(room[2]);
    if (!streamAfter)
      throw new InvalidOptionError('cursor', 'a room cursor whose stream entry id Redis accepts', cursor);
    return { limit, roomAfter, streamAfter };
  }
  const after = parseEntryId(cursor);
  if (!after) throw new InvalidOptionError('cursor', 'a stream entry id such as "1700000000000-0"', cursor);
  return { limit, after };
}
