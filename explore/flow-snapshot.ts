import type { ChainableCommander } from 'ioredis';
import type { ExploreKeys } from './protocol-adapter';
import { rateViewOf, readRate, type RateView } from './rate-snapshot';

/** A slot held by an admitted run (flow:tasks): the entry that holds it, its task and group. */
export interface HeldSlot {
  readonly entryId: string;
  readonly name: string;
  readonly group: string;
}

/** A task waiting in the room (flow:room), by its member '<name>\0<group>\0<rank>\0<task id>\0<fields>'. */
export interface WaitingTask {
  readonly id: string;
  readonly name: string;
  readonly group: string;
  /** The member up to its task id's NUL: what the task's wait in flow:tasks records. */
  readonly prefix: string;
}

/** Flow control's state of one partition, read with the rest of the snapshot. */
export interface FlowView {
  /** Task id -> the slot its run holds. */
  readonly held: Map<string, HeldSlot>;
  /** flow:count as stored: '<name>' and '<name>\0<group>' -> runs held. */
  readonly count: Map<string, number>;
  /** Task name -> its recorded limits (0 = none). */
  /** Per task name, its recorded limits; `rate`: its rateLimit.max here (0 = none). */
  readonly limits: Map<string, { global: number; group: number; rate?: number }>;
  /** Tasks whose limits changed while runs of them were held (flow:limits '\0changed\0<name>'). */
  readonly changed: Set<string>;
  readonly room: WaitingTask[];
  /** Task ids in flow:entered (when each waiting task entered the room). */
  readonly entered: Set<string>;
  /** Task id -> its wait as flow:tasks records it ('<name>\0<group>\0<rank>'). */
  readonly waits: Map<string, string>;
  /** The '<name>\0<group>' pairs in the ring (flow:ringed). */
  readonly ringed: Set<string>;
  /** flow:ring as stored, head first. */
  readonly ring: string[];
  /** flow:parked as stored (rate-parked '<name>\0<seq>\0<group>', global-parked '\0<name>\0<seq>\0<group>'). */
  readonly parked: string[];
  /** Rate limits' records, markers and wakes. */
  readonly rate: RateView;
}

/** Queues the reads of flow control's keys on `p`; `flowViewOf` parses their replies in order. */
export function readFlow(p: ChainableCommander, keys: ExploreKeys): number {
  const f = keys.flow;
  p.hgetall(f.tasks).hgetall(f.count).hgetall(f.limits).zrange(f.room, 0, -1).smembers(f.ringed);
  p.zrange(f.entered, 0, -1).lrange(f.ring, 0, -1).zrange(f.parked, 0, -1);
  return 8 + readRate(p, keys);
}

export function flowViewOf(value: (i: number) => unknown, at: number): FlowView {
  const held = new Map<string, HeldSlot>();
  const waits = new Map<string, string>();
  for (const [id, text] of Object.entries(value(at) as Record<string, string>)) {
    if (text.startsWith('\0')) {
      waits.set(id, text.slice(1));
      continue;
    }
    const [entryId, name, group] = text.split('\0');
    held.set(id, { entryId, name, group });
  }
  const count = new Map(Object.entries(value(at + 1) as Record<string, string>).map(([k, v]) => [k, Number(v)]));
  const limits = new Map<string, { global: number; group: number; rate: number }>();
  const changed = new Set<string>();
  for (const [name, text] of Object.entries(value(at + 2) as Record<string, string>)) {
    if (name.startsWith('\0changed\0')) changed.add(name.slice('\0changed\0'.length));
    if (name.startsWith('\0')) continue; // '\0arrivals', the room's arrival sequence; marks
    const [global, group, , rate] = text.split(' ').map(Number);
    limits.set(name, { global, group, rate: rate || 0 });
  }
  const room = (value(at + 3) as string[]).map((member): WaitingTask => {
    const [name, group, rank, id] = member.split('\0');
    return { id, name, group, prefix: `${name}\0${group}\0${rank}` };
  });
  return {
    held,
    count,
    limits,
    changed,
    room,
    waits,
    ringed: new Set(value(at + 4) as string[]),
    entered: new Set(value(at + 5) as string[]),
    ring: value(at + 6) as string[],
    parked: value(at + 7) as string[],
    rate: rateViewOf(value, at + 8),
  };
}
