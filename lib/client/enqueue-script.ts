import { newTaskId } from '../partitions/task-ids';
import { ScriptCall } from '../redis/scripts';
import { enqueueFlowScript } from '../scripts/enqueue-flow.script';
import { enqueueManyScript } from '../scripts/enqueue-many.script';
import { enqueueScript } from '../scripts/enqueue.script';
import type { EnqueueCall, EnqueueReply } from './enqueue-call';

/**
 * @internal The script call of one enqueue under a new task id: enqueue-flow.lua for a task under
 * flow control (it must go through admission), enqueue-many.lua for a task without a key on a
 * partition other than 0 (it checks that partition's layout), else enqueue.lua. `id` is given
 * only by the explorer, which names its tasks itself.
 */
export function enqueueScriptFor(call: EnqueueCall, id = newTaskId(call.keys.partition)): ScriptCall<EnqueueReply> {
  if (call.flow) return enqueueFlowScript(call.keys, { ...call, ...call.flow, id });
  if (call.key === undefined && call.keys.partition > 0) return unkeyedElsewhere(call, id);
  return enqueueScript(call.keys, { ...call, id });
}

/**
 * A task without a key on partition p > 0 (a durable enqueue sends one here): a process still
 * running with an old, larger count would write it where no worker of the stored count reads,
 * so it goes by enqueue-many.lua's layout check, as the group-committed path does.
 */
function unkeyedElsewhere(call: EnqueueCall, id: string): ScriptCall<EnqueueReply> {
  const many = enqueueManyScript(call.keys, [{ ...call, id }], call.partitions);
  return new ScriptCall(many.script, many.keys, many.args, (reply) => {
    const [entryId] = many.decode(reply);
    return { outcome: 'created', id, generation: 0, entryId };
  });
}
