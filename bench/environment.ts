/** The machine and versions the report states: CPU and cores from the os module, Node, Redis. */
import os from 'node:os';
import type { RedisProbe } from './redis-stats';
import type { Machine } from './report';

export async function describeMachine(probe: RedisProbe): Promise<Machine> {
  const cpus = os.cpus();
  const server = await probe.serverInfo();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: `${server.version} ${server.mode}`,
    redisOs: server.os,
  };
}

/** The command line to reproduce the run, with the BENCH_* settings that were in effect. */
export function commandLine(): string {
  const vars = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  return [...vars, 'npm run bench'].join(' ');
}
