import { InvalidOptionError } from '../errors';
import { checkUrl } from '../redis/connection-check';
import { parseEntryId } from '../redis/entry-id';
import { DEFAULT_RESULT_TTL_MS, MAX_PARTITIONS, MIN_RESULT_TTL_MS, PREFIX_PATTERN } from '../stream-queue.config';
import { TERMINAL_UNSAFE, unicodeEscaped } from '../terminal-unsafe';

/** A command line the CLI cannot run: printed with the usage, exit code 2. */
export class UsageError extends Error {}

export type Command = 'inspect' | 'dlq list' | 'dlq redrive' | 'dlq purge' | 'remove' | 'help';

/** @internal A parsed, validated command line. */
export interface CliArgs {
  readonly command: Command;
  readonly url: string;
  readonly prefix: string;
  readonly queue?: string;
  readonly json: boolean;
  readonly yes: boolean;
  readonly all: boolean;
  readonly limit?: number;
  readonly cursor?: string;
  /** The partition of the dead-letter ids (dlq redrive, dlq purge), as `dlq list` prints it. */
  readonly partition?: number;
  /** Positional ids: dead-letter ids (redrive, purge) or a task id (remove). */
  readonly ids: string[];
  /** How long Redis may take to answer, in ms: to connect, and each command. */
  readonly timeoutMs: number;
  /**
   * How long a change keeps what it leaves (a removed task's record or key state, each call's
   * answer), in ms: the app's resultTtlMs, which the CLI cannot read (default: the library's).
   */
  readonly resultTtlMs: number;
}

export const USAGE = `Usage: nest-stream-queue <command> --url redis://host:6379 [--prefix sq] [options]

Commands:
  inspect                         queue counts and consumers (every queue, or --queue)
  dlq list                        dead letters of --queue, newest first (--limit, --cursor)
  dlq redrive <id>... | --all     put dead letters back in the queue (same task id, attempt 1)
  dlq purge <id>... | --all       delete dead letters
                                  (--partition <n>: the ids' partition, as dlq list prints it;
                                  needed when two partitions hold one id)
  remove <task id>                remove a queued or delayed task

Options:
  --url <redis url>     Redis to read (or env STREAM_QUEUE_URL)
  --prefix <prefix>     the module's key prefix (default "sq")
  --queue <name>        the queue (default "default"; inspect: every queue found)
  --json                print JSON instead of tables
  --yes                 do not ask before a change (required without a terminal)
  --limit <n>           dlq list's page size, 1 to 500 (default 50)
  --cursor <cursor>     dlq list's next page, as printed by the previous one
  --partition <n>       the partition of the dead-letter ids (dlq redrive, dlq purge)
  --timeout <ms>        how long Redis may take to connect and to answer each command
                        (default 10000); past it the command fails, exit 1
  --result-ttl-ms <ms>  how long remove, dlq redrive and dlq purge keep what they leave
                        (a removed task's record, each call's answer): pass your app's
                        resultTtlMs: 0 keeps none, else at least ${MIN_RESULT_TTL_MS} (default
                        ${DEFAULT_RESULT_TTL_MS}, the library's)
  --                    the rest are ids, even one that begins with "-"
Each option at most once.

Exit codes: 0 done, 1 failed (not found, refused, Redis unreachable), 2 bad command line,
3 not confirmed.`;

const FLAGS_WITH_VALUE = new Set([
  '--url',
  '--prefix',
  '--queue',
  '--limit',
  '--cursor',
  '--partition',
  '--timeout',
  '--result-ttl-ms',
]);
const DEFAULT_TIMEOUT_MS = 10_000;
const BOOLEAN_FLAGS = new Set(['--json', '--yes', '--all', '--help', '-h']);
const QUEUE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** @internal Parses argv (without node and the script); throws UsageError naming what is wrong. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // `--` ends the options: an id may begin with '-' (a producer chose it), as in POSIX tools.
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if (FLAGS_WITH_VALUE.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('--')))
        throw new UsageError(`${name} needs a value`);
      // The last one winning in silence acted on a queue or a Redis the operator may not have meant.
      // Values not echoed: a --url may carry a password.
      if (values.has(name)) throw new UsageError(`${name} given twice: give it once`);
      values.set(name, value);
    } else if (BOOLEAN_FLAGS.has(name)) {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
      flags.add(name);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${echoed(name)}`);
    } else positional.push(arg);
  }
  if (flags.has('--help') || flags.has('-h') || positional.length === 0) return helpArgs();

  const [first, ...rest] = positional;
  let command: Command;
  let ids: string[];
  if (first === 'dlq') {
    const sub = rest[0];
    if (sub !== 'list' && sub !== 'redrive' && sub !== 'purge')
      throw new UsageError(`"dlq" needs one of list, redrive, purge${sub ? ` (got "${echoed(sub)}")` : ''}`);
    command = `dlq ${sub}`;
    ids = rest.slice(1);
  } else if (first === 'inspect' || first === 'remove') {
    command = first;
    ids = rest;
  } else throw new UsageError(`unknown command "${echoed(first)}"`);

  const url = values.get('--url') ?? env.STREAM_QUEUE_URL;
  if (!url) throw new UsageError('--url is required (or set STREAM_QUEUE_URL)');
  checkCliUrl(url, values.has('--url') ? '--url' : 'STREAM_QUEUE_URL');
  const prefix = values.get('--prefix') ?? 'sq';
  if (!PREFIX_PATTERN.test(prefix))
    throw new UsageError(`--prefix: letters, digits, "_", "." or "-" (1-64 characters)`);
  const queue = values.get('--queue');
  if (queue !== undefined && !QUEUE_PATTERN.test(queue))
    throw new UsageError(`--queue: letters, digits, "_", ".", ":" or "-" (1-128 characters)`);
  const limitText = values.get('--limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!/^\d+$/.test(limitText!) || limit < 1 || limit > 500))
    throw new UsageError(`--limit: an integer from 1 to 500 (got "${echoed(limitText!)}")`);
  const all = flags.has('--all');
  const partitionText = values.get('--partition');
  const partition = partitionText === undefined ? undefined : Number(partitionText);
  if (partition !== undefined && (!/^\d{1,4}$/.test(partitionText!) || partition >= MAX_PARTITIONS))
    throw new UsageError(`--partition: an integer from 0 to ${MAX_PARTITIONS - 1} (got "${echoed(partitionText!)}")`);
  if (partition !== undefined && (all || (command !== 'dlq redrive' && command !== 'dlq purge')))
    throw new UsageError('--partition goes with dead-letter ids (dlq redrive, dlq purge)');
  // A page's flags read as a bound of a change (`dlq purge --all --limit 10`): refused there, never ignored.
  for (const flag of ['--limit', '--cursor'])
    if (values.has(flag) && command !== 'dlq list') throw new UsageError(`${flag} goes with dlq list (it pages it)`);
  const timeoutText = values.get('--timeout');
  const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : Number(timeoutText);
  if (timeoutText !== undefined && (!/^\d{1,7}$/.test(timeoutText) || timeoutMs < 1 || timeoutMs > 3_600_000))
    throw new UsageError(`--timeout: an integer from 1 to 3600000 (got "${echoed(timeoutText)}")`);
  const ttlText = values.get('--result-ttl-ms');
  const resultTtlMs = ttlText === undefined ? DEFAULT_RESULT_TTL_MS : Number(ttlText);
  // The app's resultTtlMs, so its bounds (resultTtl): 0, or from MIN_RESULT_TTL_MS. A shorter one
  // is no app's, and what the change leaves (a removed task's record, the call's answer for a
  // resend) would expire before a result() or a resend read it.
  const ttlValid = ttlText === undefined || (/^\d{1,16}$/.test(ttlText) && Number.isSafeInteger(resultTtlMs));
  if (!ttlValid || (resultTtlMs !== 0 && resultTtlMs < MIN_RESULT_TTL_MS))
    throw new UsageError(
      `--result-ttl-ms: 0 (keep nothing) or an integer from ${MIN_RESULT_TTL_MS} to ${Number.MAX_SAFE_INTEGER}, as the app's resultTtlMs (got "${echoed(ttlText!)}")`,
    );
  // Beside a read it would read as a setting of what is shown: refused there, never ignored.
  if (ttlText !== undefined && (command === 'inspect' || command === 'dlq list'))
    throw new UsageError('--result-ttl-ms goes with the changes (remove, dlq redrive, dlq purge)');

  if (command === 'inspect' || command === 'dlq list') {
    if (ids.length > 0) throw new UsageError(`${command} takes no ids (got "${echoed(ids[0])}")`);
    if (all) throw new UsageError(`${command} takes no --all`);
  } else if (command === 'remove') {
    if (ids.length !== 1) throw new UsageError('remove takes exactly one task id');
    if (all) throw new UsageError('remove takes no --all');
  } else {
    if (all === ids.length > 0) throw new UsageError(`${command} takes dead-letter ids or --all (one of them)`);
    for (const id of ids) if (!parseEntryId(id)) throw new UsageError(`not a dead-letter id: "${echoed(id)}"`);
  }
  return {
    command,
    url,
    prefix,
    queue,
    json: flags.has('--json'),
    yes: flags.has('--yes'),
    all,
    limit,
    cursor: values.get('--cursor'),
    partition,
    ids,
    timeoutMs,
    resultTtlMs,
  };
}

/**
 * An argument as a refusal names it: each character a terminal must not get raw (TERMINAL_UNSAFE)
 * as its \uXXXX escape. An id may be a task id passed on from a listing, its JSON escapes undone
 * (anyone's text: escape sequences, a bidirectional override), and the refusal goes to stderr.
 */
function echoed(arg: string): string {
  return arg.replace(TERMINAL_UNSAFE, unicodeEscaped);
}

/** The module's URL check: ioredis must not misread the URL, and no message may print its password. */
function checkCliUrl(url: string, option: string): void {
  try {
    checkUrl(url, option);
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    throw new UsageError(error.message);
  }
}

function helpArgs(): CliArgs {
  return {
    command: 'help',
    url: '',
    prefix: 'sq',
    json: false,
    yes: false,
    all: false,
    ids: [],
    timeoutMs: DEFAULT_TIMEOUT_MS,
    resultTtlMs: DEFAULT_RESULT_TTL_MS,
  };
}
