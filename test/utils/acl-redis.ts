import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { closeApps } from '../fixtures/test-app';
import { closeAll, createRedis } from './redis';
import { startRedisServer, type RedisServerHandle } from './redis-server';

/** A private redis-server whose ACL users a spec makes (see useAclRedis). */
export interface AclRedis {
  /** Connected as the default user: for ACL SETUSER and for reading what the users wrote. */
  readonly admin: Redis;
  /** Makes (or resets) user `name` with the rules given, after `reset on >password`. */
  setUser(name: string, ...rules: string[]): Promise<void>;
  /** The connection URL of user `name`. */
  urlOf(name: string): string;
  /** The connection URL of the default user (every command, every key). */
  readonly url: string;
}

/**
 * For a spec about Redis ACLs: a redis-server of its own (an ACL change must not touch the
 * shared one), started before the spec's tests and stopped after them, once its apps and
 * connections are closed. Every user shares one password drawn per spec.
 */
export function useAclRedis(): AclRedis {
  const password = `acl-secret-${randomUUID()}`;
  let server: RedisServerHandle;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = createRedis({}, server.url);
  });
  afterAll(async () => {
    await closeApps();
    await closeAll();
    await server.stop();
  });
  return {
    get admin() {
      return admin;
    },
    setUser: async (name, ...rules) => {
      await admin.call('ACL', 'SETUSER', name, 'reset', 'on', `>${password}`, ...rules);
    },
    urlOf: (name) => `redis://${name}:${password}@127.0.0.1:${server.port}`,
    get url() {
      return server.url;
    },
  };
}
