import { Injectable } from '@nestjs/common';
import { periodicKey, QueueClient, Task } from 'nest-stream-queue';

// #region periodic
@Injectable()
export class Schedules {
  // was: queue.upsertJobScheduler('cache.refresh', { every: 30_000 })
  @Task('cache.refresh', { every: '30s' })
  refresh() {
    /* ... */
  }

  // was: queue.upsertJobScheduler('digest.send', { pattern: '0 8 * * 1-5', tz: 'Europe/Paris' })
  @Task('digest.send', { cron: '0 8 * * 1-5', timezone: 'Europe/Paris' })
  digest() {
    /* no payload: a periodic run gets null (BullMQ's job template data has no equivalent) */
  }
}
// #endregion

@Injectable()
export class Retimer {
  constructor(private readonly client: QueueClient) {}

  // #region retime
  async faster() {
    // was: upsertJobScheduler again with a new `every`; here the running run is superseded
    await this.client.replace('cache.refresh', null, { key: periodicKey('cache.refresh'), every: '5s' });
  }

  async pause() {
    // was: queue.removeJobScheduler('cache.refresh'); lasts until the next worker boots
    await this.client.cancel(periodicKey('cache.refresh'));
  }
  // #endregion
}
