// README.md, "Operating it: fleet reads, dead letters, events" and its "Pausing a queue", "Dead
// letters" and "Fleet events": the regions below are those sections' samples, kept compiled (npm
// run typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md). The parameters stand for an app's values.
import type { INestApplicationContext } from '@nestjs/common';
import { QueueClient } from 'nest-stream-queue';

export async function fleetReads(app: INestApplicationContext, taskId: string) {
  // #region fleet-reads
  const client = app.get(QueueClient);
  await client.counts('emails');
  // { queue, waiting, waitingForSlot, waitingExact, delayed, running, deadLettered, oldestWaitingMs, nextDueInMs, added, read }
  await client.inspect('emails'); // the same, plus consumers: [{ name, pending, idleMs, alive, leaseLeftMs }], unlistedConsumers

  // Paged listings: 'queued' | 'delayed' | 'running' | 'dead' (dead letters, newest first)
  let page = await client.list('running', { queue: 'emails', limit: 50 });
  page = await client.list('running', { queue: 'emails', cursor: page.cursor! }); // cursor null: last page

  await client.remove(taskId, { queue: 'emails' }); // a queued or delayed task
  await client.findTask(taskId, { queue: 'emails' }); // wherever it is, with its stored result
  // #endregion
}

export async function pausing(client: QueueClient) {
  // #region pausing
  await client.pause('emails'); // the whole fleet stops starting runs of 'emails'
  await client.isPaused('emails'); // true, from any process
  await client.resume('emails');
  // #endregion
}

export async function deadLetters(client: QueueClient, ids: string[]) {
  // #region dead-letters
  const { tasks } = await client.list('dead', { queue: 'emails' }); // each with deadLetterId and reason
  await client.redrive(tasks[0].deadLetterId!, { queue: 'emails' });
  await client.redriveAll({ queue: 'emails' }); // { redriven, refused: [{ deadLetterId, reason }] }
  await client.purgeDeadLetters({ queue: 'emails', ids }); // or without ids: all
  const bound = await client.deadLetterBound('emails'); // { count, upTo: each partition's newest }
  await client.purgeDeadLetters({ queue: 'emails', upTo: bound.upTo }); // those alone (redriveAll too)
  // #endregion
}

export function fleetEvents(client: QueueClient) {
  // #region fleet-events
  client.events('emails').subscribe((e) => console.log(e.type, e.taskId, e.worker));
  // completed | failed | retry-scheduled | dead-lettered | superseded | lease-lost | reclaimed | completion-refused
  // #endregion
}
