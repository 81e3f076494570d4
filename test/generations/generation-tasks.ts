import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { Probe } from '../fixtures/probe';

export const TICK_EVERY_MS = 400;

/** Keyed and periodic tasks for the generation specs, recording into the shared Probe. */
@Injectable()
export class GenerationTasks {
  constructor(private readonly probe: Probe) {}

  @Task('keyed', { maxAttempts: 1 })
  keyed(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('keyed', payload, ctx);
  }

  @Task('tick', { every: TICK_EVERY_MS, maxAttempts: 1 })
  tick(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('tick', payload, ctx);
  }
}

/** Needs the Probe from ProbeModule (startApp imports it). */
@Module({})
export class GenerationTasksModule {
  static register(probe: Probe): DynamicModule {
    return { module: GenerationTasksModule, providers: [{ provide: Probe, useValue: probe }, GenerationTasks] };
  }
}
