import type { Redis } from 'ioredis';
import type { QueueKeys } from '../redis/keys';
import { claimScript, type ClaimArgs, type ClaimVerdict } from '../scripts/claim.script';

/**
 * @internal claim.lua's verdicts on `a.messages`, in order. A message whose key's earlier run has
 * nothing left in the group but its owner (its stream was deleted under it) gets no verdict from
 * the first call, which names that owner: it is claimed once more judging the owner, whose
 * liveness key only then can be declared. A second round trip on that path alone.
 */
export async function sendClaim(redis: Redis, keys: QueueKeys, a: ClaimArgs): Promise<ClaimVerdict[]> {
  const first = await claimScript(keys, a).run(redis);
  const asked = first.flatMap((v, i) => (v.verdict === 'judge-owner' ? [{ i, owner: v.owner }] : []));
  if (asked.length === 0) return first as ClaimVerdict[];
  const messages = asked.map(({ i, owner }) => ({ ...a.messages[i], judgedOwner: owner }));
  const judged = await claimScript(keys, { ...a, messages }).run(redis);
  const verdicts = [...first];
  asked.forEach(({ i }, j) => (verdicts[i] = judged[j]));
  return verdicts.map((v) => {
    if (v.verdict === 'judge-owner') throw new Error(`claim.lua asked again for the lease of ${v.owner}`);
    return v;
  });
}
