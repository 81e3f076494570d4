import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { sweepLockReleaseScript } from '../scripts/sweep-lock-release.script';

/**
 * @internal The reclaim sweep's lock: taken in one atomic step (`SET key token PX ttl NX GET`, a
 * fresh token per attempt) and released only by its holder (compare-and-delete script). A
 * crashed holder's lock expires after `ttlMs`. It only saves work: each reclaim is itself
 * atomic and checks the owner it replaces, so correctness never rests on this lock.
 */
export class SweepLock {
  constructor(
    private readonly redis: Redis,
    private readonly keys: QueueKeys,
    private readonly ttlMs: number,
  ) {}

  /** Returns the token on success, undefined when another sweeper holds the lock. */
  async acquire(): Promise<string | undefined> {
    const token = randomUUID();
    // GET answers the value NX found: nil when this call took the lock. A call ioredis resent
    // after its reply was lost finds its own token (the first send took it): the lock is ours.
    const found = await this.redis.set(this.keys.sweepLock, token, 'PX', this.ttlMs, 'NX', 'GET');
    return found === null || found === token ? token : undefined;
  }

  /** True when released; false when the lock had expired and is no longer the caller's. */
  async release(token: string): Promise<boolean> {
    return (await sweepLockReleaseScript(this.keys, { token }).run(this.redis)) === 'released';
  }
}
