import type { ChainableCommander, Redis } from 'ioredis';
import { loadLuaSource, type LuaSourceOptions } from './lua-source';

/** @internal Every script shipped in lib/scripts, registered as `sq_<name>`. */
export const SCRIPT_NAMES = [
  'enqueue',
  'enqueue-many',
  'enqueue-flow',
  'claim',
  'complete',
  'fail',
  'dead-letter',
  'read-due',
  'promote',
  'reclaim',
  'recover',
  'drop-consumer',
  'cancel',
  'sweep-lock-release',
  'schedule-periodic',
  'schedule-runtime',
  'queue-state',
  'read-position',
  'settled-state',
  'remove-task',
  'redrive',
  'purge-dead-letters',
  'layout',
  'pause',
  'enter-admission',
  'uncount',
  'trim-rate-starts',
  'end-stranded-cancel',
  'events-watch',
  'record-limits',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const commandName = (name: ScriptName) => `sq_${name.replace(/-/g, '_')}`;
let sources: Map<ScriptName, string> | undefined;

/**
 * @internal Registers every script on a connection with ioredis `defineCommand`: calls go by
 * EVALSHA and fall back to EVAL when Redis lost its script cache (NOSCRIPT). No fixed key count:
 * batched scripts take a variable number of keys, passed per call. `lua` loads other sources
 * (tests swap the `rcall` include for one that checks every key is declared).
 */
export function defineScripts(redis: Redis, lua?: LuaSourceOptions): void {
  const named = lua
    ? new Map(SCRIPT_NAMES.map((name) => [name, loadLuaSource(name, lua)]))
    : (sources ??= new Map(SCRIPT_NAMES.map((name) => [name, loadLuaSource(name)])));
  for (const [name, source] of named) {
    if (!(commandName(name) in redis)) redis.defineCommand(commandName(name), { lua: source });
  }
}

export type ScriptArg = string | number;

/** What ioredis keeps per defined script (its `scriptsSet`): runs it, handling NOSCRIPT itself. */
interface DefinedScript {
  execute(container: Redis, args: ScriptArg[], options: { replyEncoding: 'utf8' }): Promise<unknown>;
}

/**
 * @internal One call of a script: its KEYS and ARGV, built by the script's typed wrapper (see
 * lib/scripts/*.script.ts, the only code that knows a script's layout), and the decoder of its
 * reply. Send it on a connection (run), alone on a hot path (runNow), or in a pipeline (queueOn,
 * then decode the pipeline's reply).
 */
export class ScriptCall<R> {
  constructor(
    readonly script: ScriptName,
    readonly keys: readonly string[],
    readonly args: readonly ScriptArg[],
    readonly decode: (reply: unknown) => R,
  ) {}

  /** Sends it on `redis` (auto-pipelined with that connection's other commands). */
  async run(redis: Redis): Promise<R> {
    const command = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[
      commandName(this.script)
    ];
    if (typeof command !== 'function') throw new Error(`Script ${this.script} is not registered on this connection`);
    return this.decode(await command.call(redis, this.keys.length, ...this.keys, ...this.args));
  }

  /**
   * Sends it at once, without a Pipeline: for a lone call on a hot path (see sendNow). ioredis's
   * Script still handles NOSCRIPT.
   */
  async runNow(redis: Redis): Promise<R> {
    const script = (redis.scriptsSet as Record<string, DefinedScript | undefined>)[commandName(this.script)];
    if (!script) throw new Error(`Script ${this.script} is not registered on this connection`);
    const reply = await script.execute(redis, [this.keys.length, ...this.keys, ...this.args], {
      replyEncoding: 'utf8',
    });
    return this.decode(reply);
  }

  /** Queues it on a pipeline; its entry of `exec()` decodes with decode(). */
  queueOn(pipeline: ChainableCommander): ChainableCommander {
    const command = (pipeline as unknown as Record<string, (...a: ScriptArg[]) => ChainableCommander>)[
      commandName(this.script)
    ];
    if (typeof command !== 'function') throw new Error(`Script ${this.script} is not registered on this connection`);
    return command.call(pipeline, this.keys.length, ...this.keys, ...this.args);
  }
}

/**
 * @internal The decoder of a script's reply codes: each code to its name, and a loud error for a
 * code the table does not know (a script and its wrapper out of step).
 */
export function replyCodes<T extends string>(
  script: ScriptName,
  codes: Readonly<Record<number, T>>,
): (code: unknown) => T {
  return (code) => {
    const name = codes[Number(code)];
    if (name === undefined) throw new Error(`${script}.lua replied an unknown code: ${String(code)}`);
    return name;
  };
}

/** @internal A stream entry as scripts return it: id, fields, and its deliveries so far. */
export type ScriptEntry = [id: string, fields: string[] | null, deliveries?: number];
