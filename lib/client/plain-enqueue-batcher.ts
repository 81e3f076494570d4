import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { runScript, runScriptNow } from '../redis/scripts';
import { sendNow } from '../redis/send-now';
import { enqueueManyChunks, enqueueManyScriptArgs, plainMessageFields, type EnqueueCall } from './enqueue-call';

interface Waiting {
  readonly keys: QueueKeys;
  readonly call: EnqueueCall;
  readonly id: string;
  /** The entry id when known (a plain XADD, or an enqueue-many that returns its ids). */
  readonly settle: (error: Error | null, entryId?: string) => void;
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

  constructor(private readonly redis: Redis) {}

  /** Resolves with the task's stream entry id when the reply carries it. */
  add(keys: QueueKeys, call: EnqueueCall, id: string): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve, reject) => {
      this.waiting.push({ keys, call, id, settle: (error, entryId) => (error ? reject(error) : resolve(entryId)) });
      if (!this.sending) void this.sendAll();
    });
  }

  private async sendAll(): Promise<void> {
    this.sending = true;
    while (this.waiting.length > 0) {
      const groups = groupByStream(this.waiting);
      this.waiting = [];
      if (groups.length === 1 && groups[0].length === 1) {
        await this.sendAlone(groups[0][0]);
        continue;
      }
      const pipeline = this.redis.pipeline();
      for (const group of groups) {
        const [first] = group;
        if (group.length === 1 && isPlainXadd(first)) {
          pipeline.xadd(first.keys.stream, '*', ...plainMessageFields(first.id, first.call));
        } else {
          const calls = group.map((w) => w.call);
          runScript(
            pipeline,
            'enqueue-many',
            ...enqueueManyScriptArgs(
              first.keys,
              calls,
              group.map((w) => w.id),
            ),
          );
        }
      }
      let replies: [Error | null, unknown][];
      try {
        replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][];
      } catch (error) {
        replies = groups.map(() => [error as Error, undefined]);
      }
      groups.forEach((group, i) => {
        const error = replies[i] ? replies[i][0] : new Error('Redis sent no reply for this enqueue.');
        const reply = replies[i]?.[1];
        // A plain XADD answers its entry id; enqueue-many one id per task ('' when delayed).
        group.forEach((w, j) => w.settle(error, Array.isArray(reply) ? asEntryId(reply[j]) : asEntryId(reply)));
      });
    }
    this.sending = false;
  }

  /** The common case at low load: one plain XADD (or script call, see isPlainXadd), written at once. */
  private sendAlone(waiting: Waiting): Promise<void> {
    const { keys, call, id, settle } = waiting;
    const sent = isPlainXadd(waiting)
      ? sendNow(this.redis, 'xadd', [keys.stream, '*', ...plainMessageFields(id, call)])
      : runScriptNow<string[]>(this.redis, 'enqueue-many', ...enqueueManyScriptArgs(keys, [call], [id])).then(
          ([entryId]) => entryId,
        );
    return sent.then(
      (entryId) => settle(null, asEntryId(entryId)),
      (error: Error) => settle(error),
    );
  }
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
