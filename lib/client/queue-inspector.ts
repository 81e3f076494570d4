import type { Redis } from 'ioredis';
import type { ListedTask, QueueConsumerInfo, QueueCounts, QueueState, TaskPage } from '../interfaces';
import { compareEntryIds, endBefore, startPast } from '../redis/entry-id';
import type { QueueKeys } from '../redis/keys';
import { groupInfo } from '../redis/xinfo-reply';
import { queueStateScript, type QueueStateSnapshot } from '../scripts/queue-state.script';
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
 * commands (counts: one script call; state: plus one PTTL per consumer; a page: delayed and dead
 * one, queued up to five (README, "Operating it"), running one plus a pipeline of one per task
 * and per worker), so a scrape or a dashboard poll stays cheap however long the queue.
 */
export class QueueInspector {
  constructor(private readonly redis: Redis) {}

  async counts(keys: QueueKeys): Promise<QueueCounts> {
    return toCounts(keys.queue, await queueStateScript(keys).run(this.redis));
  }

  async state(keys: QueueKeys): Promise<QueueState> {
    const reply = await queueStateScript(keys).run(this.redis);
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
    return { ...toCounts(keys.queue, reply), consumers };
  }

  /**
   * Tasks waiting: the stream past the group's read position, oldest first; then the flow
   * waiting room, by (task, group) and rank. The room's pages have cursors of their own.
   */
  async queued(keys: QueueKeys, page: Page): Promise<TaskPage> {
    if (page.roomAfter !== undefined) return this.waitingForSlot(keys, page.limit, page.roomAfter);
    const lastRead = await lastDeliveredId(this.redis, keys);
    let start = page.after;
    if (lastRead && (!start || compareEntryIds(lastRead, start) > 0)) start = lastRead;
    const from = startPast(start);
    const entries = from ? await this.redis.xrange(keys.stream, from, '+', 'COUNT', page.limit) : [];
    if (entries.length === page.limit) return { tasks: queuedOf(entries), cursor: nextCursor(entries, page.limit) };
    // The page goes on into the room. A task admitted from the room after the read above has
    // left it for the stream's end: the stream past that read is read again once the room was,
    // so such a task is in one of the two reads (in both when admitted between them: listed once,
    // as the stream task it is now).
    const roomLimit = page.limit - entries.length;
    const members = await this.roomMembers(keys, roomLimit, '');
    const tailFrom = entries.length > 0 ? startPast(entries[entries.length - 1][0]) : from;
    const tail = tailFrom ? await this.redis.xrange(keys.stream, tailFrom, '+', 'COUNT', roomLimit) : [];
    const stream = [...entries, ...tail];
    if (stream.length === page.limit) return { tasks: queuedOf(stream), cursor: nextCursor(stream, page.limit) };
    const inStream = new Set(queuedOf(tail).map((t) => t.id));
    let consumed = 0;
    const listed: string[] = [];
    for (const member of members) {
      if (listed.length === page.limit - stream.length) break;
      consumed++;
      if (!inStream.has(roomMemberId(member))) listed.push(member);
    }
    const more = consumed < members.length || members.length === roomLimit;
    const room = await this.waitingOf(keys, listed);
    return { tasks: [...queuedOf(stream), ...room], cursor: more ? roomCursor(members[consumed - 1]) : null };
  }

  /**
   * Tasks in the flow waiting room past the member whose cursor is `after` ('' = from its start),
   * with when each entered the room (one more command per page).
   */
  private async waitingForSlot(keys: QueueKeys, limit: number, after: string): Promise<TaskPage> {
    const members = await this.roomMembers(keys, limit, after);
    if (members.length === 0) return { tasks: [], cursor: null };
    const tasks = await this.waitingOf(keys, members);
    return { tasks, cursor: members.length < limit ? null : roomCursor(members[members.length - 1]) };
  }

  /** Up to `limit` room members past the member whose cursor is `after` ('' = from the start). */
  private roomMembers(keys: QueueKeys, limit: number, after: string): Promise<string[]> {
    // `after` is a member up to its task id: every member past it sorts at or above after + '\x01'.
    return this.redis.zrangebylex(keys.flow.room, after ? `[${after}\x01` : '-', '+', 'LIMIT', 0, limit);
  }

  /** Room members as listed tasks, with when each entered the room (one command; none for none). */
  private async waitingOf(keys: QueueKeys, members: string[]): Promise<ListedTask[]> {
    if (members.length === 0) return [];
    const entered = await this.redis.zmscore(keys.flow.entered, ...members.map(roomMemberId));
    return members.map((member, i) => waitingTaskOf(member, entered[i]));
  }

  /** Delayed tasks, soonest due first. */
  async delayed(keys: QueueKeys, page: Page): Promise<TaskPage> {
    const [score, skip] = page.delayedAfter ?? [0, 0];
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
    // The next page starts after the members already returned at the last due time.
    const last = Number(flat[flat.length - 1]);
    let atLast = 0;
    for (let i = 1; i < flat.length; i += 2) if (Number(flat[i]) === last) atLast++;
    return { tasks, cursor: `${last}:${atLast + (last === score ? skip : 0)}` };
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

/** A queued listing's cursor in the room: past `member` (see page-options.ts ROOM_CURSOR). */
function roomCursor(member: string): string {
  return `w:${Buffer.from(roomMemberParts(member).cursor).toString('base64url')}`;
}

function nextCursor(entries: [string, string[]][], limit: number): string | null {
  return entries.length < limit ? null : entries[entries.length - 1][0];
}

async function lastDeliveredId(redis: Redis, keys: QueueKeys): Promise<string | undefined> {
  const groups = await redis.xinfo('GROUPS', keys.stream).catch(noGroup);
  return groupInfo(groups, CONSUMER_GROUP)?.['last-delivered-id'] as string | undefined;
}

/** A queue no worker has started yet has no stream or group: nothing is read, nothing runs. */
function noGroup(error: Error): [] {
  if (/no such key|NOGROUP/i.test(error.message)) return [];
  throw error;
}
