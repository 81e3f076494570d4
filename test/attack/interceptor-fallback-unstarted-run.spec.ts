import {
  Injectable,
  Module,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, from, of, switchMap, type Observable } from 'rxjs';
import { LeaseLostError, Task, type TaskContext } from '../../lib';
import { ShutdownAbortError } from '../../lib/errors/shutdown-abort.error';
import { QueueKeys } from '../../lib/redis/keys';
import { abortedUnconfirmed } from '../fixtures/held-heartbeat-restart';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp } from '../fixtures/test-app';
import { Latch } from '../utils/latch';
import { waitFor } from '../utils/redis';

/*
 * Review finding: a handler call an interceptor asks for once its run was aborted is refused
 * with the abort's reason (after a lost lease another worker may be running it; past the shutdown
 * deadline nothing starts). An interceptor that maps errors to a fallback value (catchError(() =>
 * of(...)), a common Nest pattern) turned that refusal into an answer, and a run aborted by a lost
 * lease or by shutdown is settled on the value it finished with: the task was completed with the
 * fallback though its handler never ran, so it never ran at all. A refused run now keeps its
 * abort's outcome whatever its chain answers: left pending, it runs on the next worker. And the
 * runner counted a run with interceptors as started when it entered the chain: one held by its
 * interceptor (a semaphore of its own) at each graceful restart kept every delivery, and was
 * dead-lettered as poison at maxDeliveries without its handler ever being called. Each case
 * failed before the fix; the refusals are driven by latches and the signal's abort, not sleeps.
 */

let handled = 0;
/** The first run's interceptor waits here before it calls the handler; later runs pass. */
let admitted = new Latch();
let entered = new Latch();
let admissions = 0;
let firstCtx: TaskContext | undefined;
/** What the first run's chain answered, after its fallback. */
let answers: unknown[] = [];

/** Waits (a semaphore, a lookup) before calling the handler; maps any error to a fallback value. */
@Injectable()
class WaitsThenFallsBack implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (admissions++ > 0) return next.handle();
    firstCtx = context.switchToRpc().getContext<TaskContext>();
    entered.open();
    return from(admitted.wait()).pipe(
      switchMap(() => next.handle()),
      catchError((error: unknown) => {
        answers.push(error);
        return of('fallback');
      }),
    );
  }
}

@Injectable()
class FallbackTasks {
  @Task('fallback.run')
  @UseInterceptors(WaitsThenFallsBack)
  run(): string {
    handled++;
    return 'handled';
  }
}

/** While `gating`, a run's interceptor waits (its semaphore full) until its signal aborts. */
let gating = true;
let gatedEntries = 0;
let gatedHandled = 0;

@Injectable()
class WaitsForSemaphore implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!gating) return next.handle();
    gatedEntries++;
    const { signal } = context.switchToRpc().getContext<TaskContext>();
    const freed = new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return from(freed).pipe(switchMap(() => next.handle()));
  }
}

@Injectable()
class GatedTasks {
  @Task('gated.run')
  @UseInterceptors(WaitsForSemaphore)
  run(): string {
    gatedHandled++;
    return 'handled';
  }
}

@Module({ providers: [WaitsThenFallsBack, FallbackTasks, WaitsForSemaphore, GatedTasks] })
class FallbackModule {}

describe('attack: a run whose interceptor asks for its handler only once the run was aborted', () => {
  const env = useProbeApps();

  beforeEach(() => {
    handled = 0;
    admitted = new Latch();
    entered = new Latch();
    admissions = 0;
    firstCtx = undefined;
    answers = [];
    gating = true;
    gatedEntries = 0;
    gatedHandled = 0;
  });
  afterEach(() => admitted.open());

  it('past the shutdown deadline: the run is left pending, not completed, and the next worker runs it', async () => {
    const options = { shutdownTimeoutMs: 200, concurrency: 1 };
    const a = await startApp({ prefix: env.prefix, probe: env.probe, options, imports: [FallbackModule] });
    const handle = await a.client.enqueue('fallback.run', {});
    await entered.wait();

    // At the deadline the run's signal aborts; the interceptor then lets it through to its handler.
    firstCtx!.signal.addEventListener('abort', () => admitted.open());
    await a.close();
    expect(answers).toHaveLength(1);
    expect(answers[0]).toBeInstanceOf(ShutdownAbortError);
    expect(handled).toBe(0);

    const b = await startApp({ prefix: env.prefix, probe: env.probe, options, imports: [FallbackModule] });
    await expect(b.client.handle(handle.id, handle.toJSON()).result({ timeoutMs: 8_000 })).resolves.toBe('handled');
    expect(handled).toBe(1);
    expect(b.events.counters().completed).toBe(1);
  }, 30_000);

  it('after a lost lease whose beats came back: the run is left pending and recovered, not completed unrun', async () => {
    // The abort comes after 4 s without a confirmed beat, the key's expiry 6 s after the last beat.
    const options = { leaseMs: 6_000, heartbeatIntervalMs: 2_000, concurrency: 1 };
    const w = await startApp({ prefix: env.prefix, probe: env.probe, options, imports: [FallbackModule] });
    const handle = await w.client.enqueue('fallback.run', {});
    await entered.wait();

    const restart = new Latch();
    const { restarted } = await abortedUnconfirmed(w, restart);
    admitted.open();
    await waitFor(() => answers.length === 1, { description: "the interceptor's fallback after its refused call" });
    expect(answers[0]).toBeInstanceOf(LeaseLostError);
    // The beats come back before the key could lapse: this worker still owns the run.
    restart.open();
    await restarted;

    await expect(handle.result({ timeoutMs: 8_000 })).resolves.toBe('handled');
    expect(handled).toBe(1);
  }, 30_000);

  it('a run its interceptor held unstarted across graceful restarts is not dead-lettered (maxDeliveries 2)', async () => {
    const options = { maxDeliveries: 2, shutdownTimeoutMs: 200 };
    const producer = await startApp({ prefix: env.prefix, options: { worker: false }, imports: [FallbackModule] });
    const handle = await producer.client.enqueue('gated.run', {});
    for (let restart = 1; restart <= 2; restart++) {
      const worker = await startApp({ prefix: env.prefix, options, imports: [FallbackModule] });
      await waitFor(() => gatedEntries === restart, { description: `held by its interceptor, worker ${restart}` });
      await worker.close(); // its handler call, asked for once the deadline aborted it, is refused
    }
    expect(gatedHandled).toBe(0);
    gating = false;
    await startApp({ prefix: env.prefix, options, imports: [FallbackModule] });
    await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('handled');
    expect(gatedHandled).toBe(1);
    expect(await env.redis.xlen(new QueueKeys(env.prefix, 'default').deadLetter)).toBe(0);
  }, 30_000);
});
