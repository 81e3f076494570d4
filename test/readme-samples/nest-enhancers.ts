// README.md, "Nest enhancers around runs": the region below is that section's sample, kept compiled
// (npm run typecheck) and identical to the README (test/unit/readme-samples.spec.ts, and CI's
// node tools/check-doc-samples.js --marked README.md).
/* eslint-disable no-unused-vars -- the README's handler stubs name the parameters a handler is given */
import { Injectable, UseInterceptors } from '@nestjs/common';
import { Task, type TaskContext } from 'nest-stream-queue';
import { LoggingInterceptor, TimingInterceptor, type Email } from './interceptors';

// #region nest-enhancers
@Injectable()
@UseInterceptors(LoggingInterceptor)
export class EmailTasks {
  @Task('email.send')
  @UseInterceptors(TimingInterceptor)
  send(payload: Email, ctx: TaskContext) {
    /* ... */
  }
}
// #endregion
