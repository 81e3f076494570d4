import type { Redis } from 'ioredis';
import { unpackedFields } from '../lib/task/packed-fields';
import { flowViewOf, readFlow, type FlowView } from './flow-snapshot';
import { GROUP, type ExploreKeys } from './protocol-adapter';

/** A task's identity as it travels: stream fields or a delayed member (see includes/message.lua). */
export interface Carried {
  readonly id: string;
  readonly key: string | undefined;
  readonly generation: number;
  /** Under flow control (field fl): its group ('' for the ungrouped); undefined otherwise. */
  readonly flow?: string;
  /** Admitted under a rate limit (field rl): it holds a token until its claim starts it. */
  readonly rated?: boolean;
}

export interface PendingRow {
  readonly entryId: string;
  readonly owner: string;
  readonly deliveries: number;
}

export interface KeyStateView {
  readonly fields: Record<string, string>;
  /** PTTL: -1 no TTL, -2 gone. */
  readonly pttl: number;
}

/** Redis's state of one queue after a step, read in one round trip. */
export interface Snapshot {
  readonly stream: Map<string, Carried>;
  readonly pending: Map<string, PendingRow>;
  readonly lastDelivered: string;
  readonly delayed: Map<string, Carried>;
  readonly deadLettered: Set<string>;
  readonly keyStates: Map<string, KeyStateView>;
  /** Task id -> stored result (only tasks the world knows). */
  readonly results: Map<string, string>;
  readonly alive: Set<string>;
  /** The partition's layout record ('1' when absent; '<from>><to>' while frozen). */
  readonly layout: string;
  /** The keys of the partition's stranded cancels (cancel.lua), for the sweeps to judge. */
  readonly strandedCancels: Set<string>;
  /** Flow control's keys, in a world with flow control. */
  readonly flow?: FlowView;
}

export async function takeSnapshot(
  redis: Redis,
  keys: ExploreKeys,
  stateKeys: string[],
  taskIds: string[],
  consumers: string[],
  withFlow = false,
): Promise<Snapshot> {
  const p = redis.pipeline();
  p.xrange(keys.stream, '-', '+');
  p.xpending(keys.stream, GROUP, '-', '+', 100_000);
  p.xinfo('GROUPS', keys.stream);
  p.zrange(keys.delayed, 0, -1);
  p.xrange(keys.deadLetter, '-', '+');
  for (const k of stateKeys) p.hgetall(keys.keyState(k)).pttl(keys.keyState(k));
  for (const id of taskIds) p.get(keys.result(id));
  for (const c of consumers) p.exists(keys.alive(c));
  p.get(keys.layout);
  p.smembers(keys.queueKeys.strandedCancels);
  if (withFlow) readFlow(p, keys);
  const replies = (await p.exec()) ?? [];
  const value = (i: number): unknown => {
    const [error, reply] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    return reply;
  };
  const entries = value(0) as [string, string[]][];
  const stream = new Map(entries.map(([id, fields]) => [id, carriedOf(fields)]));
  const pendingRows = value(1) as [string, string, number, number][];
  const pending = new Map(
    pendingRows.map(([entryId, owner, , deliveries]) => [entryId, { entryId, owner, deliveries }]),
  );
  const group = (value(2) as unknown[][]).map(toRecord).find((g) => g.name === GROUP);
  const delayed = new Map<string, Carried>();
  for (const member of value(3) as string[]) {
    try {
      const m = JSON.parse(member) as Record<string, string>;
      delayed.set(member, {
        id: m.id,
        key: m.k,
        generation: Number(m.g ?? 0),
        flow: m.fl === '1' ? (m.gr ?? '') : undefined,
      });
    } catch {
      delayed.set(member, { id: '?', key: undefined, generation: 0 });
    }
  }
  const deadLettered = new Set((value(4) as [string, string[]][]).map(([, fields]) => carriedOf(fields).id));
  let i = 5;
  const keyStates = new Map<string, KeyStateView>();
  for (const k of stateKeys) {
    const fields = value(i++) as Record<string, string>;
    const pttl = value(i++) as number;
    if (Object.keys(fields).length > 0) keyStates.set(k, { fields, pttl });
  }
  const results = new Map<string, string>();
  for (const id of taskIds) {
    const r = value(i++) as string | null;
    if (r !== null) results.set(id, r);
  }
  const alive = new Set(consumers.filter(() => (value(i++) as number) === 1));
  const layout = (value(i++) as string | null) ?? '1';
  const strandedCancels = new Set(value(i++) as string[]);
  return {
    layout,
    strandedCancels,
    flow: withFlow ? flowViewOf(value, i) : undefined,
    stream,
    pending,
    lastDelivered: String(group?.['last-delivered-id'] ?? '0-0'),
    delayed,
    deadLettered,
    keyStates,
    results,
    alive,
  };
}

/**
 * The first id/k/g/fl/gr of an entry's fields, a packed entry's unpacked (a hostile entry may
 * repeat them; the first one counts). Only the first fields are read: a task's own fields come
 * first (includes/message.lua).
 */
export function carriedOf(raw: string[]): Carried {
  const fields = unpackedFields(raw);
  const first = new Map<string, string>();
  for (let j = 0; j + 1 < fields.length && j < 32; j += 2)
    if (!first.has(fields[j])) first.set(fields[j], fields[j + 1]);
  return {
    id: first.get('id') ?? '?',
    key: first.get('k'),
    generation: Number(first.get('g') ?? 0),
    flow: first.get('fl') === '1' ? (first.get('gr') ?? '') : undefined,
    ...(first.get('rl') === '1' ? { rated: true } : {}),
  };
}

/** A stream entry not settled yet: not read, or read and pending (an acked one awaits its trim). */
export function unsettledEntry(snap: Snapshot, entryId: string): boolean {
  return snap.pending.has(entryId) || after(entryId, snap.lastDelivered);
}

/** Whether stream entry id `a` comes after `b`. */
function after(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am > bm || (am === bm && as > bs);
}

function toRecord(row: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
  return record;
}
