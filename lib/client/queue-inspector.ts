import type { Redis } from 'ioredis';
import type { ListedTask, QueueConsumerInfo, QueueCounts, QueueState, TaskPage } from '../interfaces';
import { compareEntryIds, endBefore, startPast } from '../redis/entry-id';
import type { QueueKeys } from '../redis/keys';
import { isWrongType, namingFlowKey } from '../redis/wrong-type';
import {
  CONSUMER_LIST_LIMIT,
  queueStateRefusal,
  queueStateScript,
  type QueueStateSnapshot,
} from '../scripts/queue-state.script';
import { readPositionScript } from '../scripts/read-position.script';
import { CONSUMER_GROUP } from '../stream-queue.constants';
import type { Page } from './page-options';
import {
  deadLetterOf,
  delayedTaskOf,
  fieldsOf,
  roomMemberId,
  roomMemberParts,
  streamTaskOf,
  waitingTaskOf,
} from './listed-task';

/**
 * @internal Fleet-wide reads of one queue, straight from Redis. Each read is a bounded number of
 * commands (counts: one script call, which reads no consumer; state: plus one PTTL per consumer
 * listed, none past CONSUMER_LIST_LIMIT; a page: delayed and dead
 * one, queued up to five, four past a room cursor (README, "Operating it"), running one plus a
 * pipeline of one per task and per worker), so a scrape or a dashboard poll stays cheap however
 * long the queue.
 */
export class QueueInspector {
  constructor(private readonly redis: Redis) {}

  async counts(keys: QueueKeys): Promise<QueueCounts> {
    return toCounts(keys.queue, await this.snapshot(keys, 0));
  }

  /** The counts and the group's consumers, or none (`unlistedConsumers`) past CONSUMER_LIST_LIMIT. */
  async state(keys: QueueKeys): Promise<QueueState> {
    const reply = await this.snapshot(keys, CONSUMER_LIST_LIMIT);
    const rows = reply.consumers.map((c) => [c.name, c.pending, c.idleMs] as const);
    const ttls = await this.leaseLeft(
      keys,
      rows.map(([name]) => name),
    );
    const consumers: QueueConsumerInfo[] = rows.map(([name, pending, idle], i) => ({
      name,
      pending,
      idleMs: idle,
      alive: ttls[i] > 0,
      leaseLeftMs: ttls[i],
    }));
    return { ...toCounts(keys.queue, reply), consumers, unlistedConsumers: reply.consumerCount - consumers.length };
  }

  /**
   * Tasks waiting: the stream past the group's read position, oldest first; then the flow
   * waiting room, by (task, group) and rank. A page that reaches the room returns a room cursor,
   * which also names the last stream entry read: a task admitted from the room is appended to
   * the stream's end, past the entries already listed, so every later page reads the stream past
   * that entry as well as the room.
   */
  async queued(keys: QueueKeys, page: Page): Promise<TaskPage> {
    const lastRead = await lastDeliveredId(this.redis, keys);
    if (page.roomAfter !== undefined)
      return this.throughRoom(keys, page.limit, [], page.roomAfter, later(page.streamAfter, lastRead));
    const start = later(page.after, lastRead);
    const from = startPast(start);
    const entries = from ? await this.redis.xrange(keys.stream, from, '+', 'COUNT', page.limit) : [];
    if (entries.length === page.limit) return { tasks: queuedOf(entries), cursor: nextCursor(entries, page.limit) };
    return this.throughRoom(keys, page.limit, entries, '', lastEntryId(entries) ?? start);
  }

  /**
   * A queued page from the room: `head` (stream entries this page listed already), the room past
   * `roomAfter`, then the stream past `streamAfter`, read in that order: a task admitted from the
   * room after its read is in the stream read (listed once, as the stream task it is now), one
   * admitted after the stream read was in the room read or is read by the next page. A task listed
   * from the room and admitted since is in a later page's stream read: listed again, as it is now.
   */
  private async throughRoom(
    keys: QueueKeys,
    limit: number,
    head: [string, string[]][],
    roomAfter: string,
    streamAfter: string | undefined,
  ): Promise<TaskPage> {
    const roomLimit = limit - head.length;
    const members = await this.roomMembers(keys, roomLimit, roomAfter);
    const tailFrom = startPast(streamAfter);
    const tail = tailFrom ? await this.redis.xrange(keys.stream, tailFrom, '+', 'COUNT', roomLimit) : [];
    const stream = [...head, ...tail];
    // Past '0-0' is the whole stream (no entry has that id): where a listing that read none resumes.
    const reached = lastEntryId(stream) ?? streamAfter ?? '0-0';
    // Short of the room's first member, a stream cursor reads what a room cursor would.
    if (stream.length === limit)
      return { tasks: queuedOf(stream), cursor: roomAfter ? roomCursor(roomAfter, reached) : reached };
    const inStream = new Set(queuedOf(tail).map((t) => t.id));
    let consumed = 0;
    const listed: string[] = [];
    for (const member of members) {
      if (listed.length === limit - stream.length) break;
      consumed++;
      if (!inStream.has(roomMemberId(member))) listed.push(member);
    }
    const more = consumed < members.length || members.length === roomLimit;
    const room = await this.waitingOf(keys, listed);
    const cursor = more ? roomCursor(roomMemberParts(members[consumed - 1]).cursor, reached) : null;
    return { tasks: [...queuedOf(stream), ...room], cursor };
  }

  /** Up to `limit` room members past the member whose cursor is `after` ('' = from the start). */
  private roomMembers(keys: QueueKeys, limit: number, after: string): Promise<string[]> {
    // `after` is a member up to its task id: every member past it sorts at or above after + '\x01'.
    // A room of another type fails the listing naming the key (namingFlowKey), as the scripts do.
    const read = this.redis.zrangebylex(keys.flow.room, after ? `[${after}\x01` : '-', '+', 'LIMIT', 0, limit);
    return namingFlowKey(this.redis, keys.flow.room, 'zset', read);
  }

  /** Room members as listed tasks, with when each entered the room (one command; none for none). */
  private async waitingOf(keys: QueueKeys, members: string[]): Promise<ListedTask[]> {
    if (members.length === 0) return [];
    // flow:entered of another type (anyone with Redis access can SET it) reads as none, as the
    // scripts read it (includes/flow.lua flowCheckKeys): the tasks are listed without their times.
    const entered = await this.redis
      .zmscore(keys.flow.entered, ...members.map(roomMemberId))
      .catch((error: unknown) => {
        if (isWrongType(error)) return members.map(() => null);
        throw error;
      });
    return members.map((member, i) => waitingTaskOf(member, entered[i]));
  }

  /** Delayed tasks, soonest due first (from -inf: a member anyone ZADDs before 1970 is one too). */
  async delayed(keys: QueueKeys, page: Page): Promise<TaskPage> {
    const [score, skip] = page.delayedAfter ?? ['-inf', 0];
    const flat = await this.redis.zrange(
      keys.delayed,
      score,
      '+inf',
      'BYSCORE',
      'LIMIT',
      skip,
      page.limit,
      'WITHSCORES',
    );
    const tasks: ListedTask[] = [];
    for (let i = 0; i < flat.length; i += 2) tasks.push(delayedTaskOf(flat[i], Number(flat[i + 1])));
    if (tasks.length < page.limit) return { tasks, cursor: null };
    // The next page starts after the members already returned at the last due time, named as
    // Redis prints it (1000.5, 1e+17, inf: a number's text would not do, see DELAYED_CURSOR).
    const last = flat[flat.length - 1];
    let atLast = 0;
    for (let i = 1; i < flat.length; i += 2) if (flat[i] === last) atLast++;
    return { tasks, cursor: `${last}:${atLast + (scoreOf(last) === scoreOf(score) ? skip : 0)}` };
  }

  /** Running tasks (the group's pending list), oldest first, with their workers' liveness. */
  async running(keys: QueueKeys, page: Page): Promise<TaskPage> {
    const start = startPast(page.after);
    if (!start) return { tasks: [], cursor: null };
    const rows = (await this.redis
      .xpending(keys.stream, CONSUMER_GROUP, start, '+', page.limit)
      .catch(noGroup)) as PendingRow[];
    if (rows.length === 0) return { tasks: [], cursor: null };
    const tasks = await this.runningOf(keys, rows);
    return { tasks, cursor: rows.length < page.limit ? null : rows[rows.length - 1][0] };
  }

  /**
   * The task of stream entry `entryId`, as the listings show it: running while pending in the
   * group, else queued; undefined once it is gone.
   */
  async entryTask(keys: QueueKeys, entryId: string): Promise<ListedTask | undefined> {
    const [row] = (await this.redis
      .xpending(keys.stream, CONSUMER_GROUP, entryId, entryId, 1)
      .catch(noGroup)) as PendingRow[];
    if (row) return (await this.runningOf(keys, [row]))[0];
    const [entry] = await this.redis.xrange(keys.stream, entryId, entryId);
    return entry && streamTaskOf('queued', entry[0], entry[1]);
  }

  /** Running tasks from their pending rows: each one's entry, and its worker's liveness. */
  private async runningOf(keys: QueueKeys, rows: PendingRow[]): Promise<ListedTask[]> {
    const pipeline = this.redis.pipeline();
    for (const [entryId] of rows) pipeline.xrange(keys.stream, entryId, entryId);
    const owners = [...new Set(rows.map(([, owner]) => owner))];
    for (const owner of owners) pipeline.pttl(keys.alive(owner));
    const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => (error ? undefined : value));
    const alive = new Map(owners.map((owner, i) => [owner, Number(replies[rows.length + i]) > 0]));
    return rows.map(([entryId, owner, idle, deliveries], i) => {
      const entry = (replies[i] as [string, string[]][] | undefined)?.[0];
      return {
        ...streamTaskOf('running', entryId, entry?.[1] ?? []),
        worker: owner,
        workerAlive: alive.get(owner) ?? false,
        idleMs: Number(idle),
        deliveries: Number(deliveries),
      };
    });
  }

  /** Dead letters, newest first. */
  async dead(keys: QueueKeys, page: Page): Promise<TaskPage> {
    const end = endBefore(page.after);
    if (!end) return { tasks: [], cursor: null };
    const entries = await this.redis.xrevrange(keys.deadLetter, end, '-', 'COUNT', page.limit);
    return { tasks: entries.map(([id, raw]) => deadLetterOf(id, raw)), cursor: nextCursor(entries, page.limit) };
  }

  /** One dead letter by its entry id, or undefined. */
  async deadLetter(keys: QueueKeys, deadLetterId: string): Promise<ListedTask | undefined> {
    const [entry] = await this.redis.xrange(keys.deadLetter, deadLetterId, deadLetterId);
    return entry && deadLetterOf(entry[0], entry[1]);
  }

  /** A stream entry's fields, or undefined when it is gone. */
  async entryFields(keys: QueueKeys, entryId: string): Promise<Map<string, string> | undefined> {
    const [entry] = await this.redis.xrange(keys.stream, entryId, entryId);
    return entry && fieldsOf(entry[1]);
  }

  /** queue-state.lua's snapshot, listing up to `consumers`; refused past GROUP_READ_LIMIT groups. */
  private snapshot(keys: QueueKeys, consumers: number): Promise<QueueStateSnapshot> {
    return queueStateScript(keys, { consumers })
      .run(this.redis)
      .catch((error: Error) => {
        throw queueStateRefusal(keys, error);
      });
  }

  private async leaseLeft(keys: QueueKeys, consumers: string[]): Promise<number[]> {
    if (consumers.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const name of consumers) pipeline.pttl(keys.alive(name));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, ttl]) => (error ? 0 : Math.max(0, Number(ttl))));
  }
}

/** An XPENDING row: entry id, consumer, idle ms, deliveries. */
type PendingRow = [entryId: string, owner: string, idleMs: number, deliveries: number];

function toCounts(queue: string, r: QueueStateSnapshot): QueueCounts {
  return {
    queue,
    waiting: r.waiting + r.waitingForSlot,
    waitingForSlot: r.waitingForSlot,
    waitingExact: r.waitingExact,
    delayed: r.delayed,
    running: r.pending,
    deadLettered: r.deadLettered,
    oldestWaitingMs: r.oldestWaitingMs,
    nextDueInMs: r.nextDueInMs,
    added: r.added,
    read: r.read,
  };
}

function queuedOf(entries: [string, string[]][]): ListedTask[] {
  return entries.map(([entryId, raw]) => streamTaskOf('queued', entryId, raw));
}

/**
 * A queued listing's cursor in the room (see page-options.ts ROOM_CURSOR): past the member
 * beginning `memberPrefix`, and past stream entry `streamAfter`.
 */
function roomCursor(memberPrefix: string, streamAfter: string): string {
  return `w:${Buffer.from(memberPrefix).toString('base64url')}:${streamAfter}`;
}

/** The later of two stream positions (either may be missing). */
function later(a: string | undefined, b: string | undefined): string | undefined {
  return a && b ? (compareEntryIds(a, b) >= 0 ? a : b) : (a ?? b);
}

function lastEntryId(entries: [string, string[]][]): string | undefined {
  return entries.length > 0 ? entries[entries.length - 1][0] : undefined;
}

function nextCursor(entries: [string, string[]][], limit: number): string | null {
  return entries.length < limit ? null : entries[entries.length - 1][0];
}

/** The group's read position; refused past GROUP_READ_LIMIT groups (see read-position.lua). */
function lastDeliveredId(redis: Redis, keys: QueueKeys): Promise<string | undefined> {
  return readPositionScript(keys)
    .run(redis)
    .then((group) => group?.lastDelivered)
    .catch((error: Error) => {
      throw queueStateRefusal(keys, error);
    });
}

/** A queue no worker has started yet has no stream or group: nothing is read, nothing runs. */
function noGroup(error: Error): [] {
  if (/no such key|NOGROUP/i.test(error.message)) return [];
  throw error;
}

/** A score as Redis prints it (or a cursor gives it), as a number: 'inf' is Infinity, not NaN. */
function scoreOf(text: string): number {
  return /^[+-]?inf$/.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : Number(text);
}
