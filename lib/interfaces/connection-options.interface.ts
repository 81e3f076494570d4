import type { Redis, RedisOptions } from 'ioredis';

/**
 * How the module reaches Redis: a URL, ioredis options, or an existing client to reuse.
 * A reused client is never closed by the module; connections it derives from it are.
 * @publicApi
 */
export type ConnectionOptions = { url: string; options?: RedisOptions } | RedisOptions | Redis;
