import { deleteMatching } from '../utils/redis';
import type { Redis } from 'ioredis';

/** Reads what ledger-worker.ts wrote under `name`. */
export class Ledger {
  constructor(
    private readonly redis: Redis,
    readonly name: string,
  ) {}

  private async counts(kind: string, ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => `${this.name}:${kind}:${id}`));
    return values.map((v) => Number(v ?? 0));
  }

  starts(ids: string[]): Promise<number[]> {
    return this.counts('starts', ids);
  }

  settled(ids: string[]): Promise<number[]> {
    return this.counts('settled', ids);
  }

  refused(ids: string[]): Promise<number[]> {
    return this.counts('refused', ids);
  }

  /** Every start and end, in order: "<ms> start|end <task id> <worker>". */
  log(): Promise<string[]> {
    return this.redis.lrange(`${this.name}:log`, 0, -1);
  }

  /** Whether `worker`'s handler returned from a run of task `id`. */
  async ended(id: string, worker: string): Promise<boolean> {
    return (await this.log()).some((line) => line.endsWith(` end ${id} ${worker}`));
  }

  overlaps(): Promise<string[]> {
    return this.redis.lrange(`${this.name}:overlaps`, 0, -1);
  }

  failures(): Promise<string[]> {
    return this.redis.lrange(`${this.name}:failures`, 0, -1);
  }

  async allSettled(ids: string[]): Promise<boolean> {
    return (await this.settled(ids)).every((n) => n >= 1);
  }

  async cleanup(): Promise<void> {
    await deleteMatching(this.redis, `${this.name.replace(/[*?[\]\\]/g, '\\$&')}:*`);
  }
}
