/** The specs' one helper module: synchronisation, waiting, and the per-spec Redis and prefix. */
export { Barrier, Latch, sleep } from './latch';
export { cleanupPrefix, closeAll, createRedis, randomPrefix, redisUrl, waitFor } from './redis';
export { useSpecRedis } from './spec-redis';
export { receivedSoFar } from './pubsub';
