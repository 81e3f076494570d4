/**
 * The ledger: what chaos workers record about every run, in a Redis of its own (never the
 * queue's, so restarting or cutting the queue's Redis never touches it). Shared by the worker
 * (writes, through two Lua scripts so each run costs two round trips) and the controller (reads).
 *
 *   <L>:starts:<id>   starts of the task (INCR)
 *   <L>:m:<id>        "running" marker of the task: SET NX PX (expected duration + margin), value
 *                     the run's token; a start that finds it held is an overlap
 *   <L>:km:<key>      the same for a task key: two generations of one key must never overlap
 *   <L>:runs          run log, JSON: {t:'S', ts, id, key, token, w, a, e, g, grp, rs} and {t:'E', ts, token, how, why}
 *   <L>:overlaps      marker hits, JSON: {kind, id, key, token, holder, phase}
 *   <L>:settled:<id>  'completed' events (the settle was accepted by Redis)
 *   <L>:settles       JSON {id, w, ts} per 'completed' event
 *   <L>:refusals      JSON {id, w, detail, ts} per 'completion-refused' event
 *   <L>:events        hash: other event types (and superseded-head/tail) -> count
 *   <L>:stalls        JSON {w, id, from, to} per synchronous stall past maxStallMs (scenario 4)
 *   <L>:failures      JSON {id, key, w, detail, ts} per 'failed' event (an attempt that failed)
 *   <L>:lease-lost    JSON {id, w, ts} per 'lease-lost' event (a run aborted: its lease lapsed)
 */
import type { Redis } from 'ioredis';

/** Payload of 'chaos.work' (see chaos-worker.ts). */
export interface ChaosWork {
  /** Duration of the side effect: an abortable wait, or with `block` a synchronous busy loop. */
  ms: number;
  block?: boolean;
  /** On the task's first start only: block the event loop this long first. */
  stallMs?: number;
  /** Set for the flow task (flow-task.ts): enqueued under this group and priority. */
  group?: string;
  priority?: number;
}

export class LedgerKeys {
  constructor(readonly name: string) {}
  starts(id: string): string {
    return `${this.name}:starts:${id}`;
  }
  marker(id: string): string {
    return `${this.name}:m:${id}`;
  }
  keyMarker(key: string): string {
    return `${this.name}:km:${key}`;
  }
  settled(id: string): string {
    return `${this.name}:settled:${id}`;
  }
  get runs(): string {
    return `${this.name}:runs`;
  }
  get overlaps(): string {
    return `${this.name}:overlaps`;
  }
  get settles(): string {
    return `${this.name}:settles`;
  }
  get refusals(): string {
    return `${this.name}:refusals`;
  }
  get events(): string {
    return `${this.name}:events`;
  }
  get stalls(): string {
    return `${this.name}:stalls`;
  }
  get failures(): string {
    return `${this.name}:failures`;
  }
  get leaseLost(): string {
    return `${this.name}:lease-lost`;
  }
}

/** A run's start, as logged. `e` is the stream entry of the delivery (from ctx.fencingToken). */
export interface StartRecord {
  t: 'S';
  ts: number;
  id: string;
  key?: string;
  token: string;
  w: string;
  a: number;
  e: string;
  /** Generation of the run's key (0 without a key). */
  g: number;
  /** Flow group of a run of the flow task (absent for other tasks). */
  grp?: string;
  /** The flow task's start on Redis's clock (ctx.startedAt: counted in its rate windows). */
  rs?: number;
}

/** done: the handler's side effect finished; aborted: it stopped early on ctx.signal. */
export interface EndRecord {
  t: 'E';
  ts: number;
  token: string;
  how: 'done' | 'aborted';
  /** For an aborted run: the signal's reason (error code or message). */
  why?: string;
}

export interface MarkerHit {
  kind: 'task' | 'key';
  id: string;
  key?: string;
  token: string;
  holder: string;
  phase: 'start' | 'end';
}

export interface SettleRecord {
  id: string;
  w: string;
  ts: number;
}

export interface RefusalRecord {
  id: string;
  w: string;
  detail: string;
  ts: number;
}

export interface FailureRecord {
  id: string;
  key?: string;
  w: string;
  detail: string;
  ts: number;
}

export interface StallRecord {
  w: string;
  id: string;
  from: number;
  to: number;
}

/*
 * KEYS: starts, marker, runs, overlaps[, key marker]
 * ARGV: token, ttl ms, start record (JSON), task id, key ('' for none)
 * Logs the start, takes the markers (NX) and records each one found held. Returns the start count.
 */
const START_LUA = `
local n = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[3], ARGV[3])
local function take(marker, kind)
  if not redis.call('SET', marker, ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.call('RPUSH', KEYS[4], cjson.encode({kind = kind, id = ARGV[4], key = ARGV[5], token = ARGV[1],
      holder = redis.call('GET', marker) or '?', phase = 'start'}))
  end
end
take(KEYS[2], 'task')
if KEYS[5] then take(KEYS[5], 'key') end
return n
`;

/*
 * KEYS: marker, runs, overlaps[, key marker]
 * ARGV: token, end record (JSON), task id, key ('' for none)
 * Logs the end and releases the markers this run holds (compare-and-delete). A marker held by
 * another run means that run started while this one was running, after this one's marker had
 * expired (this run overran its expected time): an overlap the start check could not see.
 */
const END_LUA = `
redis.call('RPUSH', KEYS[2], ARGV[2])
local function release(marker, kind)
  local holder = redis.call('GET', marker)
  if holder == ARGV[1] then
    redis.call('DEL', marker)
  elseif holder then
    redis.call('RPUSH', KEYS[3], cjson.encode({kind = kind, id = ARGV[3], key = ARGV[4], token = ARGV[1],
      holder = holder, phase = 'end'}))
  end
end
release(KEYS[1], 'task')
if KEYS[4] then release(KEYS[4], 'key') end
return 1
`;

type LedgerCommands = {
  chaosStart(numKeys: number, ...args: (string | number)[]): Promise<number>;
  chaosEnd(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

export function defineLedgerCommands(redis: Redis): void {
  redis.defineCommand('chaosStart', { lua: START_LUA });
  redis.defineCommand('chaosEnd', { lua: END_LUA });
}

export function recordStart(redis: Redis, L: LedgerKeys, start: StartRecord, ttlMs: number): Promise<number> {
  const keys = [L.starts(start.id), L.marker(start.id), L.runs, L.overlaps];
  if (start.key !== undefined) keys.push(L.keyMarker(start.key));
  return (redis as unknown as LedgerCommands).chaosStart(
    keys.length,
    ...keys,
    start.token,
    ttlMs,
    JSON.stringify(start),
    start.id,
    start.key ?? '',
  );
}

export async function recordEnd(
  redis: Redis,
  L: LedgerKeys,
  start: StartRecord,
  how: EndRecord['how'],
  why?: string,
): Promise<void> {
  const keys = [L.marker(start.id), L.runs, L.overlaps];
  if (start.key !== undefined) keys.push(L.keyMarker(start.key));
  const end: EndRecord = { t: 'E', ts: Date.now(), token: start.token, how, why };
  await (redis as unknown as LedgerCommands).chaosEnd(
    keys.length,
    ...keys,
    start.token,
    JSON.stringify(end),
    start.id,
    start.key ?? '',
  );
}

/** Everything the workers wrote, read once at the end of a scenario. */
export interface LedgerDump {
  starts: StartRecord[];
  ends: Map<string, EndRecord>;
  markerHits: MarkerHit[];
  settles: SettleRecord[];
  refusals: RefusalRecord[];
  events: Record<string, number>;
  stalls: StallRecord[];
  failures: FailureRecord[];
  leaseLost: { id: string; w: string; ts: number }[];
}

export async function readLedger(redis: Redis, L: LedgerKeys): Promise<LedgerDump> {
  const [runs, hits, settles, refusals, events, stalls, failures, leaseLost] = await Promise.all([
    readList<StartRecord | EndRecord>(redis, L.runs),
    readList<MarkerHit>(redis, L.overlaps),
    readList<SettleRecord>(redis, L.settles),
    readList<RefusalRecord>(redis, L.refusals),
    redis.hgetall(L.events),
    readList<StallRecord>(redis, L.stalls),
    readList<FailureRecord>(redis, L.failures),
    readList<{ id: string; w: string; ts: number }>(redis, L.leaseLost),
  ]);
  const starts = runs.filter((r): r is StartRecord => r.t === 'S');
  const ends = new Map(runs.filter((r): r is EndRecord => r.t === 'E').map((r) => [r.token, r]));
  return {
    starts,
    ends,
    markerHits: hits,
    settles,
    refusals,
    events: Object.fromEntries(Object.entries(events).map(([k, v]) => [k, Number(v)])),
    stalls,
    failures,
    leaseLost,
  };
}

/** A list of JSON lines, read in pages so a long run log does not make one huge reply. */
async function readList<T>(redis: Redis, key: string): Promise<T[]> {
  const out: T[] = [];
  const PAGE = 5_000;
  for (let from = 0; ; from += PAGE) {
    const page = await redis.lrange(key, from, from + PAGE - 1);
    for (const line of page) out.push(JSON.parse(line) as T);
    if (page.length < PAGE) return out;
  }
}
