/**
 * The harness's own view of Redis: INFO commandstats deltas (-> commands per task), used_memory,
 * server facts, and key cleanup by pattern. The probe has its own connection; every command it
 * sends besides INFO is tallied so it can be subtracted from the deltas it reports.
 */
import Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';

export type CommandCounts = Record<string, number>;

/** Commands that are never charged to a side: the harness's INFO and connection set-up chatter. */
const IGNORED = new Set(['info', 'hello', 'client|setname', 'client|setinfo', 'select', 'ping', 'quit']);

/** Script invocations; the commands a script runs inside Redis are counted under their own names too. */
export const SCRIPT_COMMANDS = ['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'];

export function parseCommandStats(info: string): CommandCounts {
  const counts: CommandCounts = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) counts[m[1]] = Number(m[2]);
  }
  return counts;
}

function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m ? m[1].trim() : undefined;
}

export function totalCommands(counts: CommandCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export function scriptCalls(counts: CommandCounts): number {
  return SCRIPT_COMMANDS.reduce((sum, name) => sum + (counts[name] ?? 0), 0);
}

/** A measurement window over INFO commandstats, opened by RedisProbe.window(). */
export interface CommandWindow {
  /** Closes the window: the delta by command name, minus the probe's own commands. */
  end(): Promise<CommandCounts>;
}

export class RedisProbe {
  private readonly own: CommandCounts = {};

  private constructor(readonly redis: Redis) {}

  static async connect(url: string): Promise<RedisProbe> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: 'bench-probe' });
    await redis.connect();
    return new RedisProbe(redis);
  }

  /** Sends a command and remembers it, so it is not charged to the side being measured. */
  async cmd(name: string, ...args: (string | number)[]): Promise<unknown> {
    const key = name.toLowerCase();
    this.own[key] = (this.own[key] ?? 0) + 1;
    return this.redis.call(name, ...args);
  }

  async commandStats(): Promise<CommandCounts> {
    return parseCommandStats(await this.redis.info('commandstats'));
  }

  async window(): Promise<CommandWindow> {
    const before = await this.commandStats();
    const ownBefore = { ...this.own };
    return {
      end: async () => {
        const after = await this.commandStats();
        const delta: CommandCounts = {};
        for (const [name, calls] of Object.entries(after)) {
          if (IGNORED.has(name)) continue;
          const own = (this.own[name] ?? 0) - (ownBefore[name] ?? 0);
          const d = calls - (before[name] ?? 0) - own;
          if (d > 0) delta[name] = d;
        }
        return delta;
      },
    };
  }

  async usedMemory(): Promise<number> {
    return Number(infoField(await this.redis.info('memory'), 'used_memory'));
  }

  /**
   * used_memory once Redis has settled: background work (hash table resizing, lazy frees, expiry
   * cycles) moves it by tens of KB for a moment after a large run. Reads until two readings 250 ms
   * apart differ by under 4 KB, for at most 5 s.
   */
  async settledUsedMemory(): Promise<number> {
    let last = await this.usedMemory();
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      const next = await this.usedMemory();
      if (Math.abs(next - last) < 4096) return next;
      last = next;
    }
    return last;
  }

  /**
   * Bytes and keys a run left behind: call with the settled used_memory read before the run, after
   * every connection of the side is closed. Waits `waitMs` first (past any TTL the side was given),
   * then counts keys (SCAN also expires lapsed keys it meets) and sums their MEMORY USAGE (exact,
   * and blind to other clients of a shared Redis), then reads the settled used_memory.
   */
  async leftBehind(
    beforeBytes: number,
    pattern: string,
    waitMs: number,
  ): Promise<{ memoryBytes: number; keysLeft: number; keyBytes: number }> {
    await sleep(waitMs);
    const keys = await this.scanKeys(pattern);
    let keyBytes = 0;
    for (const key of keys) keyBytes += Number((await this.cmd('MEMORY', 'USAGE', key, 'SAMPLES', 0)) ?? 0);
    return { memoryBytes: (await this.settledUsedMemory()) - beforeBytes, keysLeft: keys.length, keyBytes };
  }

  async connectedClients(): Promise<number> {
    return Number(infoField(await this.redis.info('clients'), 'connected_clients'));
  }

  async serverInfo(): Promise<{ version: string; mode: string; os: string }> {
    const info = await this.redis.info('server');
    return {
      version: infoField(info, 'redis_version') ?? '?',
      mode: infoField(info, 'redis_mode') ?? '?',
      os: infoField(info, 'os') ?? '?',
    };
  }

  /** SCAN for keys matching a glob, optionally of one type. SCAN also expires any lapsed key it meets. */
  async scanKeys(pattern: string, type?: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const args: (string | number)[] = [cursor, 'MATCH', pattern, 'COUNT', 1000];
      if (type) args.push('TYPE', type);
      const [next, batch] = (await this.cmd('SCAN', ...args)) as [string, string[]];
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  }

  /** Deletes every key matching the glob (DEL, not UNLINK, so used_memory drops synchronously). */
  async deleteMatching(pattern: string): Promise<number> {
    const keys = await this.scanKeys(pattern);
    for (let i = 0; i < keys.length; i += 500) {
      await this.cmd('DEL', ...keys.slice(i, i + 500));
    }
    return keys.length;
  }

  /** Total pending entries over all consumer groups of a stream (0 if it has none or is gone). */
  async pendingOf(stream: string): Promise<number> {
    let groups: unknown[];
    try {
      groups = (await this.cmd('XINFO', 'GROUPS', stream)) as unknown[];
    } catch {
      return 0;
    }
    let pending = 0;
    for (const g of groups as unknown[][]) {
      const i = g.indexOf('pending');
      if (i >= 0) pending += Number(g[i + 1]);
    }
    return pending;
  }

  /**
   * CPU time Redis's main thread has used, in µs (INFO cpu; the whole process's on a Redis without
   * the main-thread fields). Server-wide, like commandstats: the thread that runs every command.
   */
  async cpuMicros(): Promise<number> {
    const info = String(await this.cmd('INFO', 'cpu'));
    const field = (name: string) => Number(infoField(info, name) ?? NaN);
    const main = field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread');
    const total = Number.isNaN(main) ? field('used_cpu_user') + field('used_cpu_sys') : main;
    return total * 1e6;
  }

  async xlen(stream: string): Promise<number> {
    return Number(await this.cmd('XLEN', stream));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
