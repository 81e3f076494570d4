import { newTaskId } from '../partitions/task-ids';
import type { ScriptCall } from '../redis/scripts';
import { enqueueFlowScript } from '../scripts/enqueue-flow.script';
import { enqueueScript } from '../scripts/enqueue.script';
import type { EnqueueCall, EnqueueReply } from './enqueue-call';

/**
 * @internal The script call of one enqueue under a new task id: enqueue-flow.lua for a task under
 * flow control (it must go through admission), else enqueue.lua. `id` is given only by the
 * explorer, which names its tasks itself.
 */
export function enqueueScriptFor(call: EnqueueCall, id = newTaskId(call.keys.partition)): ScriptCall<EnqueueReply> {
  if (!call.flow) return enqueueScript(call.keys, { ...call, id });
  return enqueueFlowScript(call.keys, { ...call, ...call.flow, id });
}
