import type { ConfigService } from '@nestjs/config';

/** Which parts of the sample this process runs: the HTTP producer, the consumer, or both. */
export type Role = 'api' | 'worker' | 'all';

export interface SampleConfig {
  readonly role: Role;
  readonly port: number;
  readonly redisUrl: string;
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
  return {
    role,
    port,
    redisUrl: config.get<string>('REDIS_URL') || 'redis://127.0.0.1:6379',
    prefix: config.get<string>('SQ_PREFIX') || 'sample',
  };
}

/** Whether a role serves HTTP and whether it consumes tasks. */
export const serves = (role: Role): boolean => role !== 'worker';
export const consumes = (role: Role): boolean => role !== 'api';

/** Injection token of this process's SampleConfig. */
export const SAMPLE_CONFIG = 'SAMPLE:CONFIG';
