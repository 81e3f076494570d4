import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { execReplies } from '../redis/pipeline-replies';
import { sendNow } from '../redis/send-now';
import type { HeldCalls } from '../redis/unready-wait-bound';
import { pipelineGroups } from '../redis/topology';
import { enqueueManyScript } from '../scripts/enqueue-many.script';
import { enqueueManyChunks, plainMessageFields, type EnqueueCall } from './enqueue-call';

interface Waiting {
  readonly keys: QueueKeys;
  readonly call: EnqueueCall;
  readonly id: string;
  /** The entry id when known (a plain XADD, or an enqueue-many that returns its ids). */
  readonly settle: (error: Error | null, entryId?: string) => void;
  /** Rejects the call while it is still held here (offlineTimeoutMs: see the constructor). */
  readonly reject: (error: Error) => void;
}

/**
 * @internal Sends single enqueues of unkeyed tasks due now (on a partition other than 0, delayed
 * ones too) by group commit. With nothing in flight, a call is written at once, in the caller's
 * turn of the event loop (the lowest latency: no wait for auto-pipelining's next turn). Calls
 * made while a send is in flight wait for its reply and then leave together, one enqueue-many
 * script call per stream (throughput grows with concurrency). Sends leave one at a time, and
 * calls keep their order within each stream.
 */
export class PlainEnqueueBatcher {
  private waiting: Waiting[] = [];
  private sending = false;

  /** Whether calls wait here, not in ioredis's offline queue, while the connection is down. */
  private readonly heldWhileDown: boolean;

  /**
   * `bound`: bounds the calls held here as ioredis's queued ones are (offlineTimeoutMs), and says
   * whether it does (not on a cluster, nor a client handed in). Where it does, calls are held
   * here while the connection is down, and sent once it is ready: one sent into ioredis's queue
   * after waiting here behind a send in flight (itself waiting for the connection) began its
   * wait there afresh, about twice offlineTimeoutMs in all.
   */
  constructor(
    private readonly redis: Redis,
    bound: (held: HeldCalls) => boolean,
  ) {
    const waiting = () => this.waiting;
    this.heldWhileDown = bound({
      get length() {
        return waiting().length;
      },
      peekAt: (index) => {
        const held = waiting()[index];
        return held && { command: held };
      },
      removeOne: (index) => void waiting().splice(index, 1),
    });
  }

  /** Resolves with the task's stream entry id when the reply carries it. */
  add(keys: QueueKeys, call: EnqueueCall, id: string): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve, reject) => {
      const settle = (error: Error | null, entryId?: string) => (error ? reject(error) : resolve(entryId));
      this.waiting.push({ keys, call, id, settle, reject });
      if (!this.sending) void this.sendAll();
    });
  }

  private async sendAll(): Promise<void> {
    this.sending = true;
    while (this.waiting.length > 0) {
      // Not awaited when usable: a lone call is written in the caller's turn (see above).
      const down = this.heldWhileDown ? untilUsable(this.redis) : undefined;
      if (down) await down;
      if (this.waiting.length === 0) break; // all given up while held (offlineTimeoutMs)
      const groups = groupByStream(this.waiting);
      this.waiting = [];
      if (groups.length === 1 && groups[0].length === 1) {
        await this.sendAlone(groups[0][0]);
        continue;
      }
      // One pipeline on one node; one per slot on a cluster, sent together.
      await Promise.all(
        pipelineGroups(this.redis, groups, (g) => g[0].keys.stream).map((part) => this.sendPipeline(part)),
      );
    }
    this.sending = false;
  }

  /** Groups of waiting calls in one pipeline (keys of one slot on a cluster): one round trip. */
  private async sendPipeline(groups: Waiting[][]): Promise<void> {
    const pipeline = this.redis.pipeline();
    // A group of one goes as a plain XADD (its reply is the entry id); more as enqueue-many.
    const scripts = groups.map((group) => {
      const [first] = group;
      if (group.length === 1 && isPlainXadd(first)) {
        pipeline.xadd(first.keys.stream, '*', ...plainMessageFields(first.id, first.call));
        return undefined;
      }
      const script = enqueueManyScript(
        first.keys,
        group.map((w) => ({ ...w.call, id: w.id })),
        first.call.partitions,
      );
      script.queueOn(pipeline);
      return script;
    });
    const replies = await execReplies(pipeline, groups.length);
    groups.forEach((group, i) => {
      const [error, reply] = replies[i];
      if (error) return group.forEach((w) => w.settle(error));
      const script = scripts[i];
      if (!script) return group[0].settle(null, asEntryId(reply));
      let entryIds: ReadonlyArray<string | undefined>;
      try {
        entryIds = script.decode(reply);
      } catch (decodeError) {
        return group.forEach((w) => w.settle(decodeError as Error));
      }
      group.forEach((w, j) => w.settle(null, entryIds[j]));
    });
  }

  /** The common case at low load: one plain XADD (or script call, see isPlainXadd), written at once. */
  private sendAlone(waiting: Waiting): Promise<void> {
    const { keys, call, id, settle } = waiting;
    const sent = isPlainXadd(waiting)
      ? sendNow(this.redis, 'xadd', [keys.stream, '*', ...plainMessageFields(id, call)])
      : enqueueManyScript(keys, [{ ...call, id }], call.partitions)
          .runNow(this.redis)
          .then(([entryId]) => entryId);
    return sent.then(
      (entryId) => settle(null, asEntryId(entryId)),
      (error: Error) => settle(error),
    );
  }
}

/**
 * Undefined when `redis` takes a command at once: ready, or ended for good (it then refuses at
 * once), or not connected yet (lazyConnect: it connects for the command); else resolves then.
 */
function untilUsable(redis: Redis): Promise<void> | undefined {
  if (redis.status === 'ready' || redis.status === 'end' || redis.status === 'wait') return undefined;
  return new Promise<void>((resolve) => {
    const usable = () => {
      redis.off('ready', usable).off('end', usable);
      resolve();
    };
    redis.on('ready', usable).on('end', usable);
  });
}

/**
 * A task due now on partition 0 is a plain XADD: that partition exists under every count, so the
 * write needs no layout check. Other partitions, and delayed tasks, go by enqueue-many.lua.
 */
function isPlainXadd({ keys, call }: Waiting): boolean {
  return keys.partition === 0 && call.delayMs === 0 && call.runAt === 0;
}

function asEntryId(reply: unknown): string | undefined {
  return typeof reply === 'string' && reply !== '' ? reply : undefined;
}

/** The waiting calls by stream, in call order within each, cut as enqueueManyChunks cuts them. */
function groupByStream(waiting: Waiting[]): Waiting[][] {
  const byStream = new Map<string, Waiting[]>();
  for (const w of waiting) {
    const group = byStream.get(w.keys.stream);
    if (group) group.push(w);
    else byStream.set(w.keys.stream, [w]);
  }
  return [...byStream.values()].flatMap((group) => enqueueManyChunks(group, (w) => w.call));
}
