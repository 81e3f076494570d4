import type { ChainableCommander } from 'ioredis';
import type { ExploreKeys } from './protocol-adapter';
import type { FlowShape } from './worlds';

/**
 * Rate limits' state of one partition (lib/scripts/includes/rate.lua): F.starts holds, per
 * window W, start records '<W>\0<ms, 16 digits>\0<entry id>\0<delivery>' and pending markers
 * '<W>\0<RATE_PENDING>\0<entry id>', reservations '<W>\0<RATE_RESERVED>\0<entry id>'; W is 't\0<task>' (rateLimit) or 'g\0<task>\0<group>'
 * (groupRateLimit). F.wake maps '<task>' or '<task>\0<group>' to the Redis ms it is due.
 */
export interface RateView {
  readonly records: StartRecord[];
  readonly markers: Marker[];
  /** Held restarts' reservations: the next token of a full window, kept from admissions. */
  readonly reservations: Marker[];
  /** Wake member -> Redis ms. */
  readonly wakes: Map<string, number>;
  /** Redis's clock when the snapshot was read (ms). */
  readonly now: number;
}

export interface StartRecord {
  readonly window: string;
  /** Redis ms, as stored (the explorer's `elapse` shifts it back). */
  readonly at: number;
  readonly entryId: string;
  readonly delivery: string;
}

export interface Marker {
  readonly window: string;
  readonly entryId: string;
}

/** The time part of a pending marker: it sorts after every start of its window. */
export const RATE_PENDING = '9999999999999999';
/** The time part of a held restart's reservation. */
export const RATE_RESERVED = '9999999999999998';

/** Queues the reads of the rate keys on `p`; `rateViewOf` parses their replies in order. */
export function readRate(p: ChainableCommander, keys: ExploreKeys): number {
  p.zrange(keys.flow.starts, 0, -1).zrange(keys.flow.wake, 0, -1, 'WITHSCORES').time();
  return 3;
}

export function rateViewOf(value: (i: number) => unknown, at: number): RateView {
  const records: StartRecord[] = [];
  const markers: Marker[] = [];
  const reservations: Marker[] = [];
  for (const member of value(at) as string[]) {
    const m = parseMember(member);
    if (m.at === RATE_PENDING) markers.push({ window: m.window, entryId: m.entryId });
    else if (m.at === RATE_RESERVED) reservations.push({ window: m.window, entryId: m.entryId });
    else records.push({ window: m.window, at: Number(m.at), entryId: m.entryId, delivery: m.delivery });
  }
  const flat = value(at + 1) as string[];
  const wakes = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) wakes.set(flat[i], Number(flat[i + 1]));
  const [seconds, micros] = value(at + 2) as [string, string];
  return { records, markers, reservations, wakes, now: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
}

/** A member of F.starts, split: its window, time part, entry id and delivery ('' for a marker). */
export function parseMember(member: string): { window: string; at: string; entryId: string; delivery: string } {
  const parts = member.split('\0');
  const windowParts = parts[0] === 't' ? 2 : 3;
  const [at, entryId, delivery = ''] = parts.slice(windowParts);
  return { window: parts.slice(0, windowParts).join('\0'), at, entryId, delivery };
}

/** The member of a start record at `at` (Redis ms), as claim.lua writes it. */
export function recordMember(window: string, at: number, entryId: string, delivery: string): string {
  return [window, String(Math.max(0, at)).padStart(16, '0'), entryId, delivery].join('\0');
}

/** A rate window of a task with its limit, and the wake member that serves its waiting pairs. */
export interface RateWindow {
  readonly window: string;
  readonly max: number;
  readonly perMs: number;
  readonly wake: string;
}

/** The windows a run of task `name` in `group` counts in under `flow`'s rates: rateLimit's first. */
export function windowsOf(flow: FlowShape | undefined, name: string, group: string): RateWindow[] {
  const out: RateWindow[] = [];
  if (flow?.rate) out.push({ window: `t\0${name}`, ...flow.rate, wake: name });
  if (flow?.groupRate) out.push({ window: `g\0${name}\0${group}`, ...flow.groupRate, wake: `${name}\0${group}` });
  return out;
}

/** A window as traces print it: `job` or `job/g1`. */
export const windowName = (window: string): string => window.split('\0').slice(1).join('/');
