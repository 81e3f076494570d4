// README.md, "Quick start": the region below is that section's sample, kept compiled (npm run
// typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
import { Mailer } from './mailer';
// #region quick-start
import { Injectable, Module } from '@nestjs/common';
import { QueueClient, StreamQueueModule, Task, TaskContext } from 'nest-stream-queue';

@Injectable()
export class Emails {
  constructor(private readonly mailer: Mailer) {}

  @Task('email.send', { maxAttempts: 5, timeoutMs: 30_000 })
  async send(payload: { to: string }, ctx: TaskContext) {
    await this.mailer.send(payload.to, { signal: ctx.signal, idempotencyKey: ctx.id });
    return { sent: payload.to };
  }
}

@Module({
  imports: [StreamQueueModule.forRoot({ connection: { url: process.env.REDIS_URL! }, concurrency: 50 })],
  providers: [Emails, Mailer],
})
export class AppModule {}

// anywhere the client is injected (QueueClient is a provider of the global module)
export async function welcome(client: QueueClient) {
  const handle = await client.enqueue('email.send', { to: 'a@b.c' }); // TaskHandle { id, key, generation }
  const value = await handle.result({ timeoutMs: 5_000 }); // { sent: 'a@b.c' }, or rejects
  await client.enqueueMany([{ name: 'email.send', payload: { to: 'x@y.z' } }]); // one round trip
  return value;
}
// #endregion
