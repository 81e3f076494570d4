/**
 * @internal The only place Redis keys are built. Every key of a queue partition starts with its
 * hash tag, so a partition lives in one Redis Cluster slot and every script is legal there:
 * partition 0 is `{prefix:queue}` (a queue of one partition keeps the layout it always had),
 * partition p > 0 is `{prefix:queue#p}` ('#' is in no queue name or prefix, so tags never collide).
 */
/** Flow control's keys in the order scripts take them (includes/flow.lua's flowKeys()). */
const FLOW_KEY_NAMES = [
  'tasks',
  'count',
  'limits',
  'room',
  'ring',
  'ringed',
  'starts',
  'wake',
  'parked',
  'entered',
  'refused',
] as const;

/** @internal A partition's flow keys by name. */
export type FlowKeys = Readonly<Record<(typeof FLOW_KEY_NAMES)[number], string>>;

export class QueueKeys {
  readonly tag: string;
  /**
   * The partition count this partition belongs to, '1' when absent (see layout.lua): scripts that
   * write under a key-to-partition mapping check it, so a process configured with another count
   * cannot write where its mapping is no longer the queue's.
   */
  readonly layout: string;
  /** While the layout record is frozen: how many booting processes rely on it (layout.lua). */
  readonly layoutFreezers: string;
  readonly stream: string;
  readonly delayed: string;
  readonly deadLetter: string;
  readonly sweepLock: string;
  /**
   * The partition's pause record (QueueClient.pause/resume): a hash { paused, version }. Every
   * partition holds one, so a reader in this slot needs no other; see lib/client/queue-pause.ts.
   */
  readonly pause: string;
  /**
   * The queue's sequence: generations and keyed runs' fencing numbers are drawn from it, so
   * neither repeats while the queue exists (a key's own state can expire; this never does).
   */
  readonly seq: string;
  /** Channel naming tasks that finished (completed or dead-lettered), for result() waiters. */
  readonly doneChannel: string;
  /** Channel telling workers that a running key was superseded or cancelled. */
  readonly controlChannel: string;
  /** Index of the runtime schedules (QueueClient.schedule): their keys, paged by lex order. */
  readonly schedules: string;
  /**
   * The keys whose stranded run a cancel left to its live owner's settle (cancel.lua), for the
   * sweeps to judge should that owner die first (end-stranded-cancel.lua). Usually empty.
   */
  readonly strandedCancels: string;
  /** Channel of the fleet's task events (events()); workers publish only while it is watched. */
  readonly eventsChannel: string;
  /**
   * The events() subscribers watching the queue: a sorted set of their marks, each scored with
   * when it lapses, and a TTL of the latest (see events-watch.lua). It exists while one is alive.
   */
  readonly eventsWatch: string;
  /**
   * The watch key of subscribers of earlier versions (a string with a TTL they refresh): workers
   * count it as a watch too, so a rolling deploy's old subscribers keep their events.
   */
  readonly eventsWatchBefore: string;
  /** Prefix of the per-key state hashes (see keyState(); scripts get each key in KEYS). */
  readonly keyStatePrefix: string;
  /** Prefix of the result keys (see result(); scripts get each key in KEYS). */
  readonly resultPrefix: string;
  /**
   * Flow control's keys, in the order scripts take them (see includes/flow.lua): each task's
   * flow state (held slots or a wait), slot counts, task limits, the waiting room, the ring and
   * its member set, then rate limits' start records, wake times and parked pairs (see
   * includes/rate.lua), when each waiting task entered the room, and the partition's last
   * refused admission of a waiting task (a string with a TTL, see includes/flow.lua
   * noteRefusedAdmission; the health check reads it).
   */
  readonly flowKeys: readonly string[];
  /** The same keys by name. */
  readonly flow: FlowKeys;
  /** Rate limits' wake set (a flow key): read-due.lua reads it beside the delayed set. */
  readonly flowWake: string;

  constructor(
    readonly prefix: string,
    readonly queue: string,
    readonly partition = 0,
  ) {
    this.tag = partition === 0 ? `{${prefix}:${queue}}` : `{${prefix}:${queue}#${partition}}`;
    this.layout = `${this.tag}:layout`;
    this.layoutFreezers = `${this.tag}:layout-freezers`;
    this.stream = `${this.tag}:stream`;
    this.delayed = `${this.tag}:delayed`;
    this.deadLetter = `${this.tag}:dlq`;
    this.sweepLock = `${this.tag}:sweep-lock`;
    this.pause = `${this.tag}:pause`;
    this.seq = `${this.tag}:seq`;
    this.doneChannel = `${this.tag}:done`;
    this.controlChannel = `${this.tag}:control`;
    this.schedules = `${this.tag}:schedules`;
    this.strandedCancels = `${this.tag}:stranded-cancels`;
    this.eventsChannel = `${this.tag}:events`;
    this.eventsWatch = `${this.tag}:events-watchers`;
    this.eventsWatchBefore = `${this.tag}:events-watched`;
    this.keyStatePrefix = `${this.tag}:key:`;
    this.resultPrefix = `${this.tag}:result:`;
    this.flow = Object.fromEntries(FLOW_KEY_NAMES.map((k) => [k, `${this.tag}:flow:${k}`])) as FlowKeys;
    this.flowKeys = FLOW_KEY_NAMES.map((k) => this.flow[k]);
    this.flowWake = this.flow.wake;
  }

  keyState(key: string): string {
    return this.keyStatePrefix + key;
  }

  result(taskId: string): string {
    return this.resultPrefix + taskId;
  }

  /**
   * The answer of one cancel.lua call (cancel(), unschedule()), by the id its caller drew: a
   * resend of the call after its reply was lost answers the same (see cancel.lua, KEYS[8]).
   */
  cancelCall(callId: string): string {
    return `${this.tag}:cancel-call:${callId}`;
  }

  /** The answer of one redrive, removal or purge of dead letters (lib/scripts/includes/call-record.lua). */
  repairCall(callId: string): string {
    return `${this.tag}:repair-call:${callId}`;
  }

  /**
   * The answer of one dead-letter.lua call (a worker dead-lettering an entry), by the id the call
   * drew: a resend of it after its reply was lost answers the same (includes/call-record.lua).
   */
  deadLetterCall(callId: string): string {
    return `${this.tag}:dead-letter-call:${callId}`;
  }

  alive(consumer: string): string {
    return `${this.tag}:alive:${consumer}`;
  }
}
