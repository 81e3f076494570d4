import type { ChainableCommander, Redis } from 'ioredis';
import { loadLuaSource } from './lua-source';

/** @internal Every script shipped in lib/scripts, registered as `sq_<name>`. */
export const SCRIPT_NAMES = [
  'enqueue',
  'enqueue-many',
  'claim',
  'complete',
  'fail',
  'dead-letter',
  'promote',
  'reclaim',
  'recover',
  'drop-consumer',
  'cancel',
  'sweep-lock-release',
  'schedule-periodic',
  'queue-state',
  'remove-task',
  'redrive',
  'purge-dead-letters',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

const commandName = (name: ScriptName) => `sq_${name.replace(/-/g, '_')}`;
let sources: Map<ScriptName, string> | undefined;

/**
 * @internal Registers every script on a connection with ioredis `defineCommand`: calls go by
 * EVALSHA and fall back to EVAL when Redis lost its script cache (NOSCRIPT). No fixed key count:
 * batched scripts take a variable number of keys, passed per call.
 */
export function defineScripts(redis: Redis): void {
  sources ??= new Map(SCRIPT_NAMES.map((name) => [name, loadLuaSource(name)]));
  for (const [name, lua] of sources) {
    if (!(commandName(name) in redis)) redis.defineCommand(commandName(name), { lua });
  }
}

type Arg = string | number;
type Target = Redis | ChainableCommander;

/** @internal Runs a registered script on a connection (a promise) or queues it on a pipeline. */
export function runScript<T = unknown>(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<T>;
export function runScript(
  pipeline: ChainableCommander,
  name: ScriptName,
  keys: string[],
  args: Arg[],
): ChainableCommander;
export function runScript(target: Target, name: ScriptName, keys: string[], args: Arg[]): unknown {
  const command = (target as unknown as Record<string, (...a: Arg[]) => unknown>)[commandName(name)];
  if (typeof command !== 'function') throw new Error(`Script ${name} is not registered on this connection`);
  return command.call(target, keys.length, ...keys, ...args);
}

/** What ioredis keeps per defined script (its `scriptsSet`): runs it, handling NOSCRIPT itself. */
interface DefinedScript {
  execute(container: Redis, args: Arg[], options: { replyEncoding: 'utf8' }): Promise<unknown>;
}

/**
 * @internal runScript for a lone call on a hot path: written at once, without a Pipeline (see
 * sendNow). ioredis's Script still handles NOSCRIPT.
 */
export function runScriptNow<T = unknown>(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
  const script = (redis.scriptsSet as Record<string, DefinedScript | undefined>)[commandName(name)];
  if (!script) throw new Error(`Script ${name} is not registered on this connection`);
  return script.execute(redis, [keys.length, ...keys, ...args], { replyEncoding: 'utf8' }) as Promise<T>;
}
