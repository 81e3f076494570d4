import { newTaskId } from '../partitions/task-ids';
import { ScriptCall } from '../redis/scripts';
import { enqueueFlowScript } from '../scripts/enqueue-flow.script';
import { enqueueManyScript } from '../scripts/enqueue-many.script';
import { enqueueScript, type OwnerToJudge } from '../scripts/enqueue.script';
import type { EnqueueCall, EnqueueReply } from './enqueue-call';

/** @internal What an enqueue script answers: enqueue.lua may ask for an owner's lease first. */
export type EnqueueScriptReply = EnqueueReply | OwnerToJudge;

/**
 * @internal The script call of one enqueue under a new task id: enqueue-flow.lua for a task under
 * flow control (it must go through admission), enqueue-many.lua for a task without a key on a
 * partition other than 0 (it checks that partition's layout), else enqueue.lua. `id` is given
 * only by the explorer, which names its tasks itself.
 */
export function enqueueScriptFor(
  call: EnqueueCall,
  id = newTaskId(call.keys.partition),
): ScriptCall<EnqueueScriptReply> {
  if (call.flow) return enqueueFlowScript(call.keys, { ...call, ...call.flow, id });
  if (call.key === undefined && call.keys.partition > 0) return unkeyedElsewhere(call, id);
  return enqueueScript(call.keys, { ...call, id });
}

/**
 * @internal Sends one enqueue with `send` and returns what Redis decided. When enqueue.lua asks
 * for the lease of the owner of the key's running run (OwnerToJudge: it wrote nothing), the same
 * call goes once more judging that owner: a second round trip on that path alone. `id` as for
 * enqueueScriptFor.
 */
export async function sendEnqueue(
  call: EnqueueCall,
  send: (script: ScriptCall<EnqueueScriptReply>) => Promise<EnqueueScriptReply>,
  id?: string,
): Promise<EnqueueReply> {
  const first = await send(enqueueScriptFor(call, id));
  return first.outcome === 'judge-owner' ? judgedReply(await send(ownerJudgedCall(call, first))) : first;
}

/** @internal The call enqueue.lua asked for in `asked`: the same task, judging the owner it named. */
export function ownerJudgedCall(call: EnqueueCall, asked: OwnerToJudge): ScriptCall<EnqueueScriptReply> {
  return enqueueScript(call.keys, { ...call, id: asked.id, judgedOwner: asked.owner });
}

/** @internal The reply of a call that judged an owner: enqueue.lua does not ask again. */
export function judgedReply(reply: EnqueueScriptReply): EnqueueReply {
  if (reply.outcome === 'judge-owner') throw new Error(`enqueue.lua asked again for the lease of ${reply.owner}`);
  return reply;
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
