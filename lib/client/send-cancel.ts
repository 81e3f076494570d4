import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { cancelScript, type CancelReply } from '../scripts/cancel.script';

/** @internal cancelScript's arguments. */
export type CancelArgs = Parameters<typeof cancelScript>[1];

/**
 * @internal cancel.lua on `keys`' partition, and what it did. When the key's running run has
 * nothing left in the group but its owner (its stream was deleted under it), the first call
 * writes nothing and names that owner: the same call (the same call id) goes once more judging
 * it, whose liveness key only then can be declared. A second round trip on that path alone.
 */
export async function sendCancel(redis: Redis, keys: QueueKeys, a: CancelArgs): Promise<CancelReply> {
  const first = await cancelScript(keys, a).run(redis);
  if (typeof first === 'string') return first;
  const judged = await cancelScript(keys, { ...a, judgedOwner: first.owner }).run(redis);
  if (typeof judged !== 'string') throw new Error(`cancel.lua asked again for the lease of ${judged.owner}`);
  return judged;
}
