import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** @internal Unique per process start: host, pid and a random part (pids are reused). */
export function createConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
