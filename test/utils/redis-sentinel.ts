import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { reapOnExit } from './child-reaper';
import { freePort } from './free-port';
import { startRedisServer, type RedisServerHandle } from './redis-server';

/**
 * A real Sentinel group for specs: one primary, one replica, three sentinels
 * (`redis-server <conf> --sentinel`) on free ports, a quorum of 2 and a 1 s down-after, so a
 * killed primary is replaced in a few seconds. No Docker.
 */
export interface RedisSentinelHandle {
  readonly name: string;
  readonly sentinels: { host: string; port: number }[];
  readonly servers: readonly RedisServerHandle[];
  /** The port the sentinels name as primary now. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the primary and waits until the sentinels name the replica instead. */
  failover(): Promise<RedisServerHandle>;
  stop(): Promise<void>;
}

const NAME = 'sq-primary';

export async function startRedisSentinel(): Promise<RedisSentinelHandle> {
  const primary = await startRedisServer();
  const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const dir = mkdtempSync(join(tmpdir(), 'sq-sentinel-'));
  const children: ChildProcess[] = [];
  const sentinels: { host: string; port: number }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([primary.stop(), replica.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${NAME} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${NAME} 1000`,
          `sentinel failover-timeout ${NAME} 5000`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      reapOnExit(child);
      children.push(child);
      sentinels.push({ host: '127.0.0.1', port });
    }
    await until(
      async () => (await Promise.all(sentinels.map((s) => seesReplica(s.port)))).every(Boolean),
      'the sentinels to see the replica',
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
  const primaryPort = async (): Promise<number> => {
    const sentinel = new Redis(sentinels[0].port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as [string, string];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  };
  return {
    name: NAME,
    sentinels,
    servers: [primary, replica],
    primaryPort,
    async failover() {
      const port = await primaryPort();
      const victim = [primary, replica].find((s) => s.port === port)!;
      await victim.kill('SIGKILL');
      await until(async () => (await primaryPort()) !== port, 'the sentinels to promote the replica');
      return victim;
    },
    stop: stopAll,
  };
}

async function seesReplica(port: number): Promise<boolean> {
  const sentinel = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, lazyConnect: true });
  sentinel.on('error', () => undefined);
  try {
    await sentinel.connect();
    const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', NAME)) as unknown[];
    const others = (await sentinel.call('SENTINEL', 'SENTINELS', NAME)) as unknown[];
    return replicas.length === 1 && others.length === 2;
  } catch {
    return false;
  } finally {
    sentinel.disconnect();
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
