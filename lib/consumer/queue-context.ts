import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import type { StreamQueueConfig } from '../stream-queue.config';
import type { StreamQueueEvents } from '../stream-queue.events';
import type { RunWrapper } from '../stream-queue.instrumentation';
import type { InFlight } from './in-flight';
import type { Lease } from './lease';
import type { RedisClock } from './redis-clock';
import type { Slots } from './slots';

/** @internal What the parts of one queue's consumer share. */
export interface QueueContext {
  readonly queue: string;
  readonly keys: QueueKeys;
  readonly group: string;
  /** This process's consumer name in the group; its liveness key is keys.alive(consumer). */
  readonly consumer: string;
  readonly redis: Redis;
  readonly config: StreamQueueConfig;
  readonly events: StreamQueueEvents;
  readonly logger: Logger;
  readonly inFlight: InFlight;
  readonly slots: Slots;
  /** This worker added a delayed task (retry, successor, deferral): promote it when due. */
  readonly delayedAdded: () => void;
  /**
   * A rate-limited run started: promote again in `ms`, when its start leaves its window and a
   * task waiting for a token may be admitted (its wake may have been set since the last read).
   */
  readonly promoteIn?: (ms: number) => void;
  /** This worker's lease: no run may start unless it proves the run still this worker's. */
  readonly lease: Lease;
  /** What wraps each run (tracing, interceptors, async context); undefined when nothing does. */
  readonly runWrapper?: RunWrapper;
  /**
   * Redis's clock as this worker estimates it, from the time it started consuming (after its
   * periodic chains were put in place): a `@Task` chain it does not define goes on only if a boot
   * defined it later (see includes/successor.lua), and a cron successor is offered the fire times
   * after it (see successor-timing.ts). Undefined: such a chain ends, and only the fire times
   * after the run's slot are offered.
   */
  readonly redisClock?: Pick<RedisClock, 'startedAt' | 'now'>;
}

/** @internal A queue's shared parts before its consumer exists: the consumer adds `delayedAdded`. */
export type QueueParts = Omit<QueueContext, 'delayedAdded' | 'promoteIn'>;
