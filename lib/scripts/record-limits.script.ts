import type { QueueKeys } from '../redis/keys';
import { ScriptCall } from '../redis/scripts';
import { flowLimitsText, type FlowLimits } from './enqueue-flow.script';

/** @internal The typed call of record-limits.lua on one partition: how many waiting tasks it admitted. */
export function recordLimitsScript(
  keys: QueueKeys,
  limits: ReadonlyArray<{ readonly name: string; readonly limits: FlowLimits }>,
): ScriptCall<number> {
  return new ScriptCall(
    'record-limits',
    [keys.stream, ...keys.flowKeys],
    limits.flatMap((t) => [t.name, flowLimitsText(t.limits)]),
    (reply) => Number(reply),
  );
}
