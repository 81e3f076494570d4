// README.md, "Runtime schedules": the regions below are that section's samples, kept compiled (npm
// run typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md). The parameters stand for an app's values.
/* eslint-disable no-unused-vars -- the README's handler stubs name the parameters a handler is given */
import { Injectable } from '@nestjs/common';
import { Task, type QueueClient, type TaskContext } from 'nest-stream-queue';

@Injectable()
export class Reminders {
  // #region runtime-schedule-task
  @Task('reminder.send')
  async send({ userId }: { userId: string }, ctx: TaskContext) {
    /* ... */
  }
  // #endregion
}

export async function runtimeSchedules(client: QueueClient, user: { id: string; timeZone: string }) {
  // #region runtime-schedules
  // when the user turns reminders on, or changes their time zone:
  await client.schedule(
    'reminder.send',
    { userId: user.id },
    { key: `reminder:${user.id}`, cron: '0 9 * * 1', timezone: user.timeZone },
  );
  await client.schedule('cache.warm', null, { key: 'warm:eu', every: '10m' });

  await client.unschedule(`reminder:${user.id}`); // when they turn reminders off

  // every schedule of a queue, a page at a time
  let after: string | undefined;
  do {
    const page = await client.schedules({ queue: 'default', limit: 100, after });
    for (const s of page.items) console.log(s.key, s.name, s.cron ?? s.every, s.timezone, s.nextRunAt);
    after = page.next;
  } while (after);
  // #endregion
}
