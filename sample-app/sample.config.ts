/** Which parts of the sample this process runs: the HTTP producer, the consumer, or both. */
export type Role = 'api' | 'worker' | 'all';

export interface SampleConfig {
  readonly role: Role;
  readonly port: number;
  readonly redisUrl: string;
  readonly prefix: string;
}

const ROLES: readonly Role[] = ['api', 'worker', 'all'];

/** Role from argv (`main.ts worker`) or SAMPLE_ROLE, the rest from the environment. */
export function readSampleConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): SampleConfig {
  const role = argv[0] ?? env.SAMPLE_ROLE ?? 'all';
  if (!ROLES.includes(role as Role)) throw new Error(`Unknown role "${role}": expected one of ${ROLES.join(', ')}.`);
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`PORT must be a port number, got "${env.PORT}".`);
  return {
    role: role as Role,
    port,
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    prefix: env.SQ_PREFIX || 'sample',
  };
}

/** Whether a role serves HTTP and whether it consumes tasks. */
export const serves = (role: Role): boolean => role !== 'worker';
export const consumes = (role: Role): boolean => role !== 'api';

/** Injection token of this process's SampleConfig. */
export const SAMPLE_CONFIG = 'SAMPLE:CONFIG';
