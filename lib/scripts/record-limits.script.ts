import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { flowLimitsText, type FlowLimits } from './enqueue-flow.script';

/**
 * @internal The typed call of record-limits.lua on one partition, by a worker mapping the queue to
 * `partitions` (its limits are that count's shares): how many waiting tasks it admitted. A layout
 * record of another count refuses it ('LAYOUT ...': PartitionLayoutError.fromReply).
 */
export function recordLimitsScript(
  keys: QueueKeys,
  limits: ReadonlyArray<{ readonly name: string; readonly limits: FlowLimits }>,
  partitions: number,
): ScriptCall<number> {
  return new ScriptCall(
    'record-limits',
    [keys.stream, ...keys.flowKeys, keys.layout],
    [partitions, ...limits.flatMap((t) => [t.name, flowLimitsText(t.limits)])],
    (reply) => Number(reply),
  );
}
