import { Injectable, Module, UseInterceptors, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { from, mergeMap, switchMap, tap, type Observable } from 'rxjs';
import { LeaseLostError, Task, type TaskContext } from '../../lib';
import { abortedUnconfirmed } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/*
 * Review finding: an aborted run of a task with interceptors settles with its abort once none of
 * its handler calls runs (an interceptor whose Observable never completes must not hold it). A
 * lost lease is no verdict, though: a handler that returned is settled and Redis's fence decides.
 * A run whose handler had returned while its interceptor still worked after it (an audit write
 * in a mergeMap) when the lease went unconfirmed was settled on the LeaseLostError, so left
 * pending: the beats came back before the key lapsed, the worker's sweep recovered the run, and a
 * handler that had completed ran a second time. Waiting for the chain after a lost lease must not
 * let an interceptor start the handler late either: a run taken over by another worker meanwhile
 * would run twice.
 */

let calls = 0;
/** Opened once the handler returned and the interceptor's audit began. */
let auditing = new Latch();
/** The audit's write: held by the spec across the lost lease. */
let audited = new Latch();
let auditAborts: unknown[] = [];

/** Audits the handler's value after it returned, before passing it on. */
@Injectable()
class AuditsAfterHandler implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      mergeMap(async (value: unknown) => {
        auditing.open();
        await audited.wait();
        return value;
      }),
    );
  }
}

/** The first run's interceptor waits here before it calls the handler; later runs pass. */
let admitted = new Latch();
let admissions = 0;
let gatedCalls = 0;
/** What the first run's late next.handle() answered. */
let lateAnswers: { value?: unknown; error?: unknown }[] = [];

/** Lets the first run through to its handler once the spec opens `admitted`. */
@Injectable()
class AdmitsLater implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    if (admissions++ > 0) return next.handle();
    return from(admitted.wait()).pipe(
      switchMap(() => next.handle()),
      tap({ next: (value) => void lateAnswers.push({ value }), error: (error) => void lateAnswers.push({ error }) }),
    );
  }
}

@Injectable()
class AuditedTasks {
  @Task('audited.run')
  @UseInterceptors(AuditsAfterHandler)
  async run(_payload: unknown, ctx: TaskContext): Promise<string> {
    calls++;
    ctx.signal.addEventListener('abort', () => auditAborts.push(ctx.signal.reason));
    await Promise.resolve();
    return 'handled';
  }
}

@Injectable()
class GatedTasks {
  @Task('gated.run')
  @UseInterceptors(AdmitsLater)
  run(): string {
    gatedCalls++;
    return 'handled';
  }
}

@Module({ providers: [AuditsAfterHandler, AuditedTasks, AdmitsLater, GatedTasks] })
class AuditedModule {}

describe('attack: a lost lease while an interceptor works after its handler returned', () => {
  const env = useProbeApps();
  // The abort comes after 4 s without a confirmed beat, the key's expiry 6 s after the last beat.
  const options = { leaseMs: 6_000, heartbeatIntervalMs: 2_000, concurrency: 1 };

  beforeEach(() => {
    calls = 0;
    auditing = new Latch();
    audited = new Latch();
    auditAborts = [];
    admitted = new Latch();
    admissions = 0;
    gatedCalls = 0;
    lateAnswers = [];
  });
  afterEach(() => {
    audited.open();
    admitted.open();
  });

  // A keyed run's abort also renews the worker's liveness value (renewIncarnation).
  it.each([
    ['an unkeyed run', {}],
    ['a keyed run', { key: 'k' }],
  ])(
    '%s is settled on the value its handler returned: completed, the handler run once',
    async (_what, enqueue) => {
      const w = await startApp({ prefix: env.prefix, probe: env.probe, options, imports: [AuditedModule] });
      const handle = await w.client.enqueue('audited.run', {}, enqueue);
      await auditing.wait();

      // The heartbeat thread dies; its restart is held until the run was aborted as unconfirmed.
      const restart = new Latch();
      const { restarted } = await abortedUnconfirmed(w, restart);
      // The beats come back before the key could lapse; then the audit ends.
      restart.open();
      await restarted;
      audited.open();

      await expect(handle.result({ timeoutMs: 8_000 })).resolves.toBe('handled');
      expect(auditAborts).toHaveLength(1);
      expect(auditAborts[0]).toBeInstanceOf(LeaseLostError);
      expect(await handle.status()).toMatchObject({ state: 'completed' });
      // Left pending, the run would have been recovered and run again before its result was written.
      expect(calls).toBe(1);
      expect(w.events.counters().completed).toBe(1);
    },
    30_000,
  );

  it('an interceptor that calls its handler after the lease was lost does not start it: the run taken over runs once', async () => {
    const a = await startApp({ prefix: env.prefix, probe: env.probe, options, imports: [AuditedModule] });
    const handle = await a.client.enqueue('gated.run', {});
    await waitFor(() => admissions === 1, { description: "the run's interceptor waiting to call its handler" });

    // A's lease goes unconfirmed, then lapses: B takes the run over and runs it.
    const restart = new Latch();
    const { restarted } = await abortedUnconfirmed(a, restart, "A's run aborted for its unconfirmed lease");
    const b = await startApp({ prefix: env.prefix, probe: env.probe, options, imports: [AuditedModule] });
    await expect(handle.result({ timeoutMs: 15_000 })).resolves.toBe('handled');
    expect(b.events.counters().completed).toBe(1);

    // A's interceptor now calls the handler of the run it lost: it is not started.
    admitted.open();
    await waitFor(() => lateAnswers.length === 1, { description: "A's late next.handle() answered" });
    expect(lateAnswers[0].error).toBeInstanceOf(LeaseLostError);
    expect(gatedCalls).toBe(1);
    restart.open();
    await restarted;
  }, 40_000);
});
