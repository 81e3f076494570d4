/**
 * @internal The only place Redis keys are built. Every key of a queue starts with the hash tag
 * `{prefix:queue}`, so a queue lives in one Redis Cluster slot and every script is legal there.
 */
export class QueueKeys {
  readonly tag: string;
  readonly stream: string;
  readonly delayed: string;
  readonly deadLetter: string;
  readonly sweepLock: string;
  /**
   * The queue's sequence: generations and keyed runs' fencing numbers are drawn from it, so
   * neither repeats while the queue exists (a key's own state can expire; this never does).
   */
  readonly seq: string;
  /** Channel naming tasks that finished (completed or dead-lettered), for result() waiters. */
  readonly doneChannel: string;
  /** Channel telling workers that a running key was superseded or cancelled. */
  readonly controlChannel: string;
  /** Channel of the fleet's task events (events()); workers publish only while it is watched. */
  readonly eventsChannel: string;
  /** Set (with a TTL, refreshed) while some events() subscriber watches the queue. */
  readonly eventsWatch: string;
  /** Prefix of the per-key state hashes (the promote script derives keys from it). */
  readonly keyStatePrefix: string;
  /** Prefix of the result keys (the complete script derives them from task ids). */
  readonly resultPrefix: string;

  constructor(
    readonly prefix: string,
    readonly queue: string,
  ) {
    this.tag = `{${prefix}:${queue}}`;
    this.stream = `${this.tag}:stream`;
    this.delayed = `${this.tag}:delayed`;
    this.deadLetter = `${this.tag}:dlq`;
    this.sweepLock = `${this.tag}:sweep-lock`;
    this.seq = `${this.tag}:seq`;
    this.doneChannel = `${this.tag}:done`;
    this.controlChannel = `${this.tag}:control`;
    this.eventsChannel = `${this.tag}:events`;
    this.eventsWatch = `${this.tag}:events-watched`;
    this.keyStatePrefix = `${this.tag}:key:`;
    this.resultPrefix = `${this.tag}:result:`;
  }

  keyState(key: string): string {
    return this.keyStatePrefix + key;
  }

  result(taskId: string): string {
    return this.resultPrefix + taskId;
  }

  alive(consumer: string): string {
    return `${this.tag}:alive:${consumer}`;
  }
}
