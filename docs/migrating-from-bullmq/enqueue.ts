import { Injectable } from '@nestjs/common';
import { KeyConflictError, QueueClient, type TaskStatus } from 'nest-stream-queue';

@Injectable()
export class Signups {
  constructor(private readonly client: QueueClient) {}

  // #region enqueue
  async onSignup(userId: string, email: string) {
    // queue.add('welcome', data, { delay: 60_000 })
    await this.client.enqueue('email.welcome', { to: email }, { delayMs: 60_000, queue: 'emails' });

    // queue.add('build', data, { jobId: `report:${userId}` }): deduplicated while the run is live
    const handle = await this.client.enqueue<{ userId: string }, { pages: number }>(
      'report.build',
      { userId },
      { key: `report:${userId}`, queue: 'reports' },
    );
    if (!handle.created) console.log(`report ${handle.id} was already queued or running`);

    // job.waitUntilFinished(queueEvents, 5_000): no QueueEvents needed
    const { pages } = await handle.result({ timeoutMs: 5_000 });
    return pages;
  }
  // #endregion

  // #region bulk
  async welcomeAll(emails: string[]) {
    // queue.addBulk([{ name, data, opts }]): one round trip, all validated before any is sent
    return this.client.enqueueMany(
      emails.map((to) => ({ name: 'email.welcome', payload: { to }, options: { queue: 'emails' } })),
    );
  }
  // #endregion

  // #region keys
  async rebuild(userId: string): Promise<TaskStatus | null> {
    const key = `report:${userId}`;
    // no BullMQ equivalent: supersede the live run (queued: never starts; running: signal aborts)
    await this.client.replace('report.build', { userId }, { key, queue: 'reports' });
    // job.getState(), by key rather than by job id
    return this.client.status(key, { queue: 'reports' });
  }

  async stop(userId: string): Promise<boolean> {
    // queue.remove(jobId) removes a waiting job; cancel() also stops a running one
    return this.client.cancel(`report:${userId}`, { queue: 'reports' });
  }

  async reuseKey(userId: string) {
    try {
      await this.client.enqueue('email.welcome', { to: 'a@b.c' }, { key: `user:${userId}`, queue: 'emails' });
    } catch (error) {
      // the key is held by a live run of another task (say, report.build): nothing was written
      if (error instanceof KeyConflictError) console.warn(error.liveTaskName, error.liveTaskId);
      else throw error;
    }
  }
  // #endregion

  // #region handle
  async later(stored: { id: string; queue: string; key?: string }) {
    // Queue.getJob(id) in another process: rebuild the handle from what you stored
    const handle = this.client.handle<{ pages: number }>(stored.id, { queue: stored.queue, key: stored.key });
    return { status: await handle.status(), result: await handle.result({ timeoutMs: 1_000 }) };
  }
  // #endregion
}
