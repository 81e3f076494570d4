/** Moved to the testing kit (lib/testing), which the harness and users' tests share. */
export * from '../../lib/testing/redis-server';
