import type { Redis } from 'ioredis';
import { newProgress } from '../client/dead-letters';
import { FleetReads } from '../client/fleet-reads';
import { InvalidOptionError, StreamQueueError } from '../errors';
import type { QueueState } from '../interfaces';
import { storedPartitions } from '../partitions/stored-partitions';
import { quotedText } from '../quoted-text';
import { DEFAULT_QUEUE } from '../stream-queue.constants';
import type { CliArgs } from './cli-args';
import { unanswered } from './cli-connection';
import { jsonText } from './json-text';
import { discoverQueues } from './queue-discovery';
import { table } from './table';

/** @internal Where the CLI writes and how it asks. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Asks a yes/no question; false when there is no terminal to ask on. */
  confirm(question: string): Promise<boolean>;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, notConfirmed: 3 } as const;

/** @internal Runs one parsed command against `redis`; returns the exit code. */
export async function runCommand(redis: Redis, args: CliArgs, io: CliIo): Promise<number> {
  // What a change leaves is kept for the app's resultTtlMs, as the app's own calls keep it (--result-ttl-ms).
  const reads = new FleetReads(redis, (queue) => storedPartitions(redis, args.prefix, queue), args.resultTtlMs);
  const queue = args.queue ?? DEFAULT_QUEUE;
  const print = (json: unknown, text: string) => io.out(args.json ? jsonText(json) : text);
  // A change whose call got no answer (late, or its connection lost) may have been made: --json says so.
  const change = howToLook(args.command) !== '';
  // Dead-letter ids are per partition: the question names the one --partition gives.
  const ofPartition = args.partition === undefined ? '' : ` of partition ${args.partition}`;
  const confirmed = async (what: string): Promise<boolean> => {
    if (args.yes || (await io.confirm(`${what} on queue "${queue}" (prefix "${args.prefix}")? [y/N] `))) return true;
    io.err('Not confirmed: nothing was changed (pass --yes to skip the question).');
    return false;
  };
  // Set once the command printed what it did before an error of Redis stopped it.
  let printed = false;
  const printedThen = (error: unknown): never => {
    printed = true;
    throw error;
  };
  try {
    switch (args.command) {
      case 'inspect': {
        const queues = args.queue ? [args.queue] : await discoverQueues(redis, args.prefix);
        // Each queue answers for itself: one that cannot be read (TOO_MANY_GROUPS...) hides no other.
        const read = await Promise.all(queues.map((q) => reads.state(q).catch(unreadQueue(q))));
        const states = read.filter((s): s is QueueState => !('error' in s));
        const unread = read.filter((s): s is UnreadQueue => 'error' in s);
        if (!args.json) for (const { error } of unread) io.err(error.message);
        if (args.json || states.length > 0 || unread.length === 0)
          print(read, states.length === 0 ? `No queues under prefix "${args.prefix}".` : inspectTables(states));
        return unread.length > 0 ? EXIT.failed : EXIT.ok;
      }
      case 'dlq list': {
        const page = await reads.list('dead', { queue, limit: args.limit, cursor: args.cursor });
        const rows = page.tasks.map((t) => [
          t.deadLetterId,
          t.partition,
          t.at?.toISOString(),
          t.name,
          t.id,
          t.key,
          t.reason,
          t.payload,
        ]);
        const next = page.cursor ? `\nMore: --cursor ${page.cursor}` : '';
        print(
          page,
          `${table(['DEAD LETTER', 'PARTITION', 'AT', 'TASK', 'ID', 'KEY', 'REASON', 'PAYLOAD'], rows)}${next}`,
        );
        return EXIT.ok;
      }
      case 'dlq redrive': {
        // All of them: those the question counts, not one dead-lettered while it waits (never shown).
        const present = args.all ? await reads.deadLetterBound(queue) : undefined;
        const what = present
          ? `Redrive all ${present.count} dead letter(s)`
          : `Redrive ${args.ids.length} dead letter(s)${ofPartition}`;
        if (!(await confirmed(what))) return EXIT.notConfirmed;
        if (present) {
          // Kept up to date as it goes: an error of Redis midway still says what was redriven.
          const done = newProgress();
          const result = await reads.redriveAll({ queue, upTo: present.upTo }, done).catch((error: unknown) => {
            if (error instanceof StreamQueueError) throw error;
            const before = `Redrove ${done.redriven} dead letter(s) before Redis failed.`;
            const kept = done.refused.map((r) => `\n  kept ${r.deadLetterId}: ${r.reason}`).join('');
            print({ ...done, ...redisError(error, true) }, `${before}${kept}`);
            return printedThen(error);
          });
          const kept = result.refused.map((r) => `\n  kept ${r.deadLetterId}: ${r.reason}`).join('');
          print(result, `Redrove ${result.redriven} dead letter(s).${kept}`);
          return result.refused.length > 0 ? EXIT.failed : EXIT.ok;
        }
        return each(args.ids, io, args.json, async (id) => {
          const entryId = await reads.redrive(id, { queue, partition: args.partition });
          // '' is no entry: a task under flow control waits in the room for its slot.
          if (entryId === '')
            return {
              text: `Redrove ${id}: the task waits for a flow slot (no stream entry yet).`,
              json: { redriven: true, waitsForSlot: true },
            };
          return { text: `Redrove ${id} as entry ${entryId}.`, json: { redriven: true, entryId } };
        }).catch(printedThen);
      }
      case 'dlq purge': {
        // All of them: those the question counts; one dead-lettered while it waits stays (never shown).
        const present = args.all ? await reads.deadLetterBound(queue) : undefined;
        const what = present
          ? `Purge all ${present.count} dead letter(s)`
          : `Purge ${args.ids.length} dead letter(s)${ofPartition}`;
        if (!(await confirmed(what))) return EXIT.notConfirmed;
        if (present) {
          const purged = await reads.purge({ queue, upTo: present.upTo });
          print({ purged }, `Purged ${purged} dead letter(s).`);
          return EXIT.ok;
        }
        return each(args.ids, io, args.json, async (id) => {
          await reads.purge({ queue, ids: [id], partition: args.partition });
          return { text: `Purged ${id}.`, json: { purged: true } };
        }).catch(printedThen);
      }
      case 'remove': {
        const [id] = args.ids;
        // The id may be one a listing gave (anyone's text, its JSON escapes undone): quoted, escaped.
        const quoted = quotedText(id, id.length);
        if (!(await confirmed(`Remove task ${quoted}`))) return EXIT.notConfirmed;
        await reads.remove(id, { queue });
        print({ removed: id }, `Removed task ${quoted}.`);
        return EXIT.ok;
      }
      default:
        return EXIT.usage;
    }
  } catch (error) {
    if (!(error instanceof StreamQueueError)) {
      // An error of Redis itself (out of memory, a WRONGTYPE, no answer): main reports it on stderr.
      if (args.json && !printed) io.out(jsonText(redisError(error, change)));
      throw error;
    }
    io.err(error.message);
    // A script reading stdout gets the reason, as dlq redrive/purge by id give each id's.
    if (args.json) io.out(jsonText({ error: error.code, message: error.message }));
    // The library checks --cursor (its shape depends on the queue's partitions): a bad command line still.
    return error instanceof InvalidOptionError && error.option === 'cursor' ? EXIT.usage : EXIT.failed;
  }
}

/** A queue `inspect` could not read, in its place: the library's error, by code and message. */
interface UnreadQueue {
  readonly queue: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** A StreamQueueError of queue `queue`'s read as its UnreadQueue; any other error goes on. */
function unreadQueue(queue: string): (error: unknown) => UnreadQueue {
  return (error) => {
    if (!(error instanceof StreamQueueError)) throw error;
    return { queue, error: { code: error.code, message: error.message } };
  };
}

/** What one id's action did: its line of text, and its fields in the JSON array. */
interface IdOutcome {
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/**
 * Runs `act` per dead-letter id, reporting each (with `json`, one array of every id's outcome at
 * the end, failures included); a refusal does not stop the others, and sets the exit code. An
 * error of Redis (out of memory, no answer) stops the run and goes on to the caller, but only
 * after the array, with that id's error and the ids not tried: the ids before it were acted on.
 */
async function each(ids: string[], io: CliIo, json: boolean, act: (id: string) => Promise<IdOutcome>): Promise<number> {
  let code: number = EXIT.ok;
  const outcomes: Record<string, unknown>[] = [];
  for (const [i, id] of ids.entries()) {
    try {
      const outcome = await act(id);
      if (json) outcomes.push({ deadLetterId: id, ...outcome.json });
      else io.out(outcome.text);
    } catch (error) {
      if (!(error instanceof StreamQueueError)) {
        if (json) io.out(jsonText([...outcomes, ...stoppedAt(ids.slice(i), error)]));
        throw error;
      }
      io.err(error.message);
      outcomes.push({ deadLetterId: id, error: error.code, message: error.message });
      code = EXIT.failed;
    }
  }
  if (json) io.out(jsonText(outcomes));
  return code;
}

/**
 * An error of Redis (not one of the library's), as --json prints it; `mayHaveBeenDone` when the
 * call of a `change` got no answer (unanswered): Redis may have made it.
 */
function redisError(
  error: unknown,
  change: boolean,
): { error: 'REDIS_ERROR'; message: string; mayHaveBeenDone?: true } {
  const message = (error as Error)?.message ?? String(error);
  return change && unanswered(error)
    ? { error: 'REDIS_ERROR', message, mayHaveBeenDone: true }
    : { error: 'REDIS_ERROR', message };
}

/**
 * @internal How an operator looks whether a change of `command` was made when its call got no
 * answer (main prints it); '' for a command that changes nothing.
 */
export function howToLook(command: CliArgs['command']): string {
  switch (command) {
    case 'dlq redrive':
    case 'dlq purge':
      return '`dlq list` shows the dead letters still there';
    case 'remove':
      return '`remove` again removes the task if it is still there, else answers TASK_NOT_FOUND';
    default:
      return '';
  }
}

/** The outcomes of `ids` when Redis failed the first with `error`: its error, then the ids not tried. */
function stoppedAt(ids: string[], error: unknown): Record<string, unknown>[] {
  const [failed, ...rest] = ids;
  return [
    { deadLetterId: failed, ...redisError(error, true) },
    ...rest.map((id) => ({ deadLetterId: id, error: 'NOT_TRIED', message: `not tried: Redis failed ${failed}` })),
  ];
}

function inspectTables(states: QueueState[]): string {
  const ms = (n: number | null) => (n === null ? '-' : `${(n / 1000).toFixed(1)} s`);
  const queues = table(
    ['QUEUE', 'WAITING', 'DELAYED', 'RUNNING', 'DEAD', 'OLDEST WAITING', 'CONSUMERS (ALIVE)'],
    states.map((s) => [
      s.queue,
      `${s.waiting}${s.waitingExact ? '' : '?'}${s.waitingForSlot > 0 ? ` (${s.waitingForSlot} for a slot)` : ''}`,
      s.delayed,
      s.running,
      s.deadLettered,
      ms(s.oldestWaitingMs),
      consumersCell(s),
    ]),
  );
  const consumers = states.flatMap((s) =>
    s.consumers.map((c) => [s.queue, c.name, c.alive ? 'alive' : 'dead', c.pending, ms(c.idleMs)]),
  );
  if (consumers.length === 0) return queues;
  return `${queues}\n\n${table(['QUEUE', 'CONSUMER', 'LIVENESS', 'HOLDS', 'IDLE'], consumers)}`;
}

/** Consumers (alive), and those not listed: a group of more than 1000 is only counted. */
function consumersCell(s: QueueState): string {
  const alive = s.consumers.filter((c) => c.alive).length;
  if (s.unlistedConsumers === 0) return `${s.consumers.length} (${alive})`;
  return `${s.consumers.length + s.unlistedConsumers} (${alive} of ${s.consumers.length} listed)`;
}
