import { DynamicModule, Injectable, Module, type Type } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { Probe } from '../fixtures/probe';

/*
 * Successive deployments of one periodic task, `tick`: each class is one version of the code, so
 * a spec boots apps of version 1, then of version 2, as a redeploy would.
 */

@Injectable()
export class TickEvery300 {
  constructor(private readonly probe: Probe) {}

  @Task('tick', { every: 300, maxAttempts: 1 })
  tick(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('tick', payload, ctx);
  }
}

@Injectable()
export class TickEvery1500 {
  constructor(private readonly probe: Probe) {}

  @Task('tick', { every: 1_500, maxAttempts: 1 })
  tick(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('tick', payload, ctx);
  }
}

/** Every two seconds, on the even seconds of UTC. */
@Injectable()
export class TickCron2s {
  constructor(private readonly probe: Probe) {}

  @Task('tick', { cron: '*/2 * * * * *', maxAttempts: 1 })
  tick(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('tick', payload, ctx);
  }
}

/** Version 1's schedule, moved to the queue `other`. */
@Injectable()
export class TickMovedEvery300 {
  constructor(private readonly probe: Probe) {}

  @Task('tick', { every: 300, maxAttempts: 1, queue: 'other' })
  tick(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('tick', payload, ctx);
  }
}

/** A cron task whose first run is far away: its chain waits in the delayed set. */
@Injectable()
export class YearlyCron {
  constructor(private readonly probe: Probe) {}

  @Task('yearly', { cron: '0 0 1 1 *', maxAttempts: 1 })
  yearly(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('yearly', payload, ctx);
  }
}

/** One version of the code: `tasks` recording into `probe` (startApp adds the probe's own tasks). */
@Module({})
export class ScheduleVersionModule {
  static register(probe: Probe, tasks: Type<unknown>): DynamicModule {
    return { module: ScheduleVersionModule, providers: [{ provide: Probe, useValue: probe }, tasks] };
  }
}

/** `tick` as a plain task, before a deploy made it periodic (or after one made it plain again). */
@Injectable()
export class TickPlain {
  constructor(private readonly probe: Probe) {}

  @Task('tick', { maxAttempts: 1 })
  tick(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('tick', payload, ctx);
  }
}

/** A version without `tick` at all (the probe's own tasks only). */
@Injectable()
export class NoTick {}
