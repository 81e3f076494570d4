import { enqueueFlow, OTHER_TASK, partitionOfFlowGroup, removeTask, type RemovalTarget } from './protocol-adapter';
import { unsettledEntry } from './snapshot';
import type { Step, StepResult } from './steps';
import type { World } from './world';
import type { RateShape } from './worlds';
import { flowLimitsOf, holdsGroupLimit } from '../lib/task/flow-limits';
import type { FlowLimits } from '../lib/scripts/enqueue-flow.script';
import type { ResolvedTaskOptions } from '../lib/task/resolved-task-options';

const NOOP: StepResult = { applied: false, note: 'n/a' };
/** The module's default priorityAgingMs: one priority level weighs a second of waiting. */
export const AGING_MS = 1000;

/** A task's limits as @Task states them (0 = none). */
export interface TaskLimits {
  readonly global: number;
  readonly group: number;
  readonly rate?: RateShape;
  readonly groupRate?: RateShape;
}

/**
 * The limits partition `partition` of `count` records for a task of `limits`, as the library
 * computes them (flowLimitsOf): its share of the task's own limits, the group limits whole.
 */
export function partitionLimits(limits: TaskLimits, partition: number, count: number): FlowLimits {
  const options = {
    globalConcurrency: limits.global || undefined,
    groupConcurrency: limits.group || undefined,
    rateLimit: limits.rate,
    groupRateLimit: limits.groupRate,
  } as ResolvedTaskOptions;
  return flowLimitsOf(options, AGING_MS, partition, count) ?? { global: 0, group: 0, agingMs: AGING_MS };
}

/**
 * A client enqueues the world's task under flow control (enqueue-flow.lua): admitted at once
 * while its slots are free and nothing of its group waits, else into the room; due later, into
 * the delayed set, to go through admission when promoted. On a partitioned queue it goes to its
 * group's partition under the count of the process that enqueues (`by`), which the layout record
 * refuses when it holds another count or a switch is under way; an ungrouped task without a group
 * limit goes to the producer's turn (`p`) instead, as partitions.nextUnkeyed() gives it. The
 * limits are the partition's share of the task's (partitionLimits).
 */
export async function enqueueFlowStep(world: World, step: Extract<Step, { op: 'enqueue-flow' }>): Promise<StepResult> {
  const shape = world.shape.flow;
  if (!shape || (step.task === 'other' && !shape.other)) return NOOP;
  const base = step.task === 'other' ? { ...shape.other!, rate: undefined, groupRate: undefined } : shape;
  const limits = step.retuned ? { ...base, ...step.retuned } : base;
  const count = world.countOf(step.by);
  const spread = step.group === '' && !holdsGroupLimit(limits);
  const partition = spread ? (step.p ?? 0) % count : partitionOfFlowGroup(step.group, count);
  const where = world.where(partition);
  const reply = await enqueueFlow(
    world.client,
    world.parts[partition],
    {
      id: step.id,
      ...(step.task === 'other' ? { name: OTHER_TASK } : {}),
      group: step.group,
      priority: step.priority,
      delayed: step.delayed === true,
      big: step.big === true,
      limits: partitionLimits(limits, partition, count),
    },
    count,
  );
  if (typeof reply !== 'string') return { applied: true, note: `refused${where}: ${reply.refused}`, refused: true };
  world.enqueued(step.id, undefined);
  world.flowGroups.set(step.id, step.group);
  const note = `${step.delayed ? 'delayed' : reply ? 'admitted' : 'waiting in the room'}${where}`;
  return { applied: true, note: step.retuned ? `${note}, limits ${limits.global}/${limits.group} recorded` : note };
}

/**
 * QueueClient.remove of a task by id, where locate() finds it: an entry of the stream not yet
 * settled, a member of the delayed set, or a task waiting in the flow room (its wait and member
 * leave; its pair may stay ringed or parked with nothing left to admit).
 */
export async function removeStep(world: World, alias: string): Promise<StepResult> {
  const task = world.byAlias(alias);
  if (!task) return NOOP;
  // The task id's partition suffix names where it is; the explorer's ids have none: it looks.
  for (const [p, snap] of world.snapshots.entries()) {
    const entry = [...snap.stream].find(([id, c]) => c.id === task.id && unsettledEntry(snap, id));
    const member = [...snap.delayed].find(([, c]) => c.id === task.id);
    const waiting = snap.flow?.room.some((w) => w.id === task.id) === true;
    const at: RemovalTarget | undefined = entry
      ? { entryId: entry[0] }
      : member
        ? { member: member[0] }
        : waiting
          ? { waiting: true }
          : undefined;
    if (!at) continue;
    const reply = await removeTask(world.client, world.parts[p], task.id, at);
    if (reply === 'removed') task.settled = 'removed';
    const what = 'entryId' in at ? 'queued' : 'member' in at ? 'delayed' : 'waiting';
    return { applied: true, note: `${what}${world.where(p)}: ${reply}` };
  }
  return NOOP;
}
