import { Injectable } from '@nestjs/common';
import { Task, type TaskContext } from '../../lib';
import { QueueKeys } from '../../lib/redis/keys';
import { Probe } from '../fixtures/probe';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { ScheduleVersionModule } from '../generations/schedule-versions';
import { waitFor } from '../utils/redis';

/** Version 1: `report` on `default`. */
@Injectable()
class ReportOnDefault {
  constructor(private readonly probe: Probe) {}

  @Task('report', { maxAttempts: 1 })
  report(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('report', payload, ctx);
  }
}

/** Version 2: `report` moved to `reports`; the fixtures' `echo` keeps the worker reading `default`. */
@Injectable()
class ReportMoved {
  constructor(private readonly probe: Probe) {}

  @Task('report', { maxAttempts: 1, queue: 'reports' })
  report(payload: unknown, ctx: TaskContext): Promise<unknown> {
    return this.probe.handle('report', payload, ctx);
  }
}

/**
 * A runtime schedule (schedule(name, payload, { key })) lives on its task's queue. A deploy that
 * moved the task to another queue, and that schedules the key again at boot as version 1 did,
 * started a second chain on the new queue, while the chain on the old one went on: any worker
 * still reading the old queue ran it and scheduled its successor from the stored schedule. Each
 * slot ran twice, for good (10 runs of 20 on the old queue). schedule() now ends the key's chain
 * of the same task on every other queue this process knows once the new chain is in place. A
 * review finding; the spec failed.
 */
describe('attack: a runtime schedule whose task moved to another queue', () => {
  const env = useProbeApps();
  const { redis } = env;

  it('keeps one chain: every run after the move is on the new queue, and the old queue holds none', async () => {
    const probe = new Probe();
    const boot = (version: typeof ReportOnDefault | typeof ReportMoved) =>
      startApp({ prefix: env.prefix, probe, imports: [ScheduleVersionModule.register(probe, version)] });
    const schedule = (app: Awaited<ReturnType<typeof boot>>) =>
      app.client.schedule('report', { daily: true }, { key: 'report:daily', every: 200 });

    const v1 = await boot(ReportOnDefault);
    await schedule(v1);
    await waitFor(() => probe.runsOf('report').length >= 2, { description: '2 runs on version 1' });
    await v1.close();

    const v2 = await boot(ReportMoved);
    await schedule(v2);
    const from = probe.runsOf('report').length;
    await waitFor(() => probe.runsOf('report').length >= from + 20, { timeoutMs: 15_000, description: '20 runs' });
    const queues = probe
      .runsOf('report')
      .slice(from, from + 20)
      .map((r) => r.ctx.queue);
    // A run of the old chain already in flight while v2 booted may still land on `default`.
    expect(queues.slice(1).filter((q) => q === 'default')).toEqual([]);
    const old = new QueueKeys(env.prefix, 'default');
    expect(await redis.zrange(old.schedules, 0, -1)).toEqual([]);
    expect(await redis.zcard(old.delayed)).toBe(0);
    const listed = await v2.client.schedules({ queue: 'reports' });
    expect(listed.items.map((s) => s.key)).toEqual(['report:daily']);
  });

  it("leaves another task's schedule under the same key on another queue alone", async () => {
    const probe = new Probe();
    const app = await startApp({
      prefix: env.prefix,
      probe,
      options: { worker: false },
      imports: [ScheduleVersionModule.register(probe, ReportMoved)],
    });
    await app.client.schedule('echo', 'other task', { key: 'report:daily', every: '1h' });
    await app.client.schedule('report', null, { key: 'report:daily', every: '1h' });
    const onDefault = await app.client.schedules({ queue: 'default' });
    expect(onDefault.items.map((s) => [s.key, s.name])).toEqual([['report:daily', 'echo']]);
    expect((await app.client.schedules({ queue: 'reports' })).items.map((s) => s.name)).toEqual(['report']);
  });
});
