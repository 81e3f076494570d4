import type { ConfigService } from '@nestjs/config';

/** Which parts of the sample this process runs: the HTTP producer, the consumer, or both. */
export type Role = 'api' | 'worker' | 'all';

export interface SampleConfig {
  readonly role: Role;
  readonly port: number;
  readonly redisUrl: string;
  /** REDIS_CLUSTER_NODES (`host:port,host:port`): a Redis Cluster instead of REDIS_URL. */
  readonly clusterNodes?: readonly { host: string; port: number }[];
  /** SQ_PARTITIONS: the partitions of each of the sample's queues (default 1). */
  readonly partitions: number;
  readonly prefix: string;
}

const ROLES: readonly Role[] = ['api', 'worker', 'all'];

/** Role from argv (`main.ts worker`) or SAMPLE_ROLE: it decides which modules exist, so it is read first. */
export function readRole(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Role {
  const role = argv[0] ?? env.SAMPLE_ROLE ?? 'all';
  if (!ROLES.includes(role as Role)) throw new Error(`Unknown role "${role}": expected one of ${ROLES.join(', ')}.`);
  return role as Role;
}

/** The rest through @nestjs/config: the environment (and a `.env` file, if there is one). */
export function readSampleConfig(role: Role, config: ConfigService): SampleConfig {
  const rawPort = config.get<string>('PORT') ?? '3000';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT must be a port number, got "${rawPort}".`);
  const rawPartitions = config.get<string>('SQ_PARTITIONS') ?? '1';
  const partitions = Number(rawPartitions);
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new Error(`SQ_PARTITIONS must be a positive integer, got "${rawPartitions}".`);
  return {
    role,
    port,
    redisUrl: config.get<string>('REDIS_URL') || 'redis://127.0.0.1:6379',
    clusterNodes: parseNodes(config.get<string>('REDIS_CLUSTER_NODES')),
    partitions,
    prefix: config.get<string>('SQ_PREFIX') || 'sample',
  };
}

/** `host:port,host:port` as cluster startup nodes; undefined when unset. */
function parseNodes(raw: string | undefined): SampleConfig['clusterNodes'] {
  if (!raw) return undefined;
  return raw.split(',').map((node) => {
    const match = /^\s*([^:\s]+):(\d+)\s*$/.exec(node);
    if (!match) throw new Error(`REDIS_CLUSTER_NODES must be host:port,host:port, got "${raw}".`);
    return { host: match[1], port: Number(match[2]) };
  });
}

/** Whether a role serves HTTP and whether it consumes tasks. */
export const serves = (role: Role): boolean => role !== 'worker';
export const consumes = (role: Role): boolean => role !== 'api';

/** Injection token of this process's SampleConfig. */
export const SAMPLE_CONFIG = 'SAMPLE:CONFIG';
