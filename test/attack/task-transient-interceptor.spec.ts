import {
  Injectable,
  Module,
  Scope,
  UseInterceptors,
  type CallHandler,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { StreamQueueError, StreamQueueModule, Task } from '../../lib';
import { bootstrapError } from '../fixtures/close-module';
import { useProbeApps } from '../fixtures/probe-apps';
import { startApp, testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

// Review finding: a Scope.TRANSIENT interceptor in @UseInterceptors() on a task's class or method
// ran on a placeholder instance whose constructor never ran (Nest's ExternalContextCreator hands
// a transient enhancer its per-consumer instance only with an inquirer, which an external context
// has none of): its injected dependencies were undefined, so every run of the task failed
// (TypeError) and was dead-lettered, and bootstrap said nothing. Bootstrap now fails naming the
// task, Class.method and the interceptor, and what to do.

@Injectable()
class AuditLog {
  readonly lines: string[] = [];
}

@Injectable({ scope: Scope.TRANSIENT })
class PerUseAudit implements NestInterceptor {
  constructor(private readonly log: AuditLog) {}
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(tap(() => this.log.lines.push('ran')));
  }
}

@Injectable()
class OnMethod {
  @Task('transient.method')
  @UseInterceptors(PerUseAudit)
  run(): string {
    return 'ran';
  }
}

@Injectable()
@UseInterceptors(PerUseAudit)
class OnClass {
  @Task('transient.class')
  run(): string {
    return 'ran';
  }
}

/**
 * An entry provider (marked so by a framework decorator, @WebSocketGateway() say): Nest passes it
 * as the inquirer, so its transient interceptor gets an instance of its own and works.
 */
@Injectable()
@UseInterceptors(PerUseAudit)
class OnEntryProvider {
  @Task('transient.entry')
  run(): string {
    return 'ran';
  }
}
Reflect.defineMetadata('__entryProvider__', true, OnEntryProvider);

/** The transient interceptor is on a method that is no task: the task's chain has none of it. */
@Injectable()
class OnOtherMethod {
  @Task('transient.elsewhere')
  run(): string {
    return 'ran';
  }

  @UseInterceptors(PerUseAudit)
  route(): string {
    return 'route';
  }
}

const bootstrapWith = (provider: Type) =>
  bootstrapError({
    imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false }))],
    providers: [AuditLog, provider],
  });

describe('attack: a transient interceptor on a task', () => {
  it('on the method: bootstrap fails naming the task, its method and the interceptor', async () => {
    const error = await bootstrapWith(OnMethod);
    expect(error).toBeInstanceOf(StreamQueueError);
    expect((error as StreamQueueError).code).toBe('TRANSIENT_INTERCEPTOR');
    expect((error as Error).message).toBe(
      "@Task('transient.method') on OnMethod.run: its interceptor PerUseAudit is transient (Scope.TRANSIENT). Nest gives a transient enhancer an instance only for a request, a provider it is injected into or an entry provider, and a task run here is none of these: the interceptor would run with its dependencies undefined, and every run would fail. Give PerUseAudit the default (singleton) scope.",
    );
  });

  it('on the class: bootstrap fails naming the task, its method and the interceptor', async () => {
    const error = await bootstrapWith(OnClass);
    expect((error as StreamQueueError).code).toBe('TRANSIENT_INTERCEPTOR');
    expect((error as Error).message).toMatch(
      /^@Task\('transient\.class'\) on OnClass\.run: its interceptor PerUseAudit is transient/,
    );
  });

  describe('where Nest builds it, or where the task has none of it', () => {
    const env = useProbeApps();

    it('on an entry provider: the task boots and runs with it', async () => {
      @Module({ providers: [AuditLog, OnEntryProvider] })
      class EntryModule {}
      const w = await startApp({ prefix: env.prefix, probe: env.probe, imports: [EntryModule] });
      const handle = await w.client.enqueue('transient.entry', {});
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('ran');
      expect(w.app.get(AuditLog).lines).toEqual(['ran']);
    });

    it('on another method of the class: the task boots and runs without it', async () => {
      @Module({ providers: [AuditLog, OnOtherMethod] })
      class OtherModule {}
      const w = await startApp({ prefix: env.prefix, probe: env.probe, imports: [OtherModule] });
      const handle = await w.client.enqueue('transient.elsewhere', {});
      await expect(handle.result({ timeoutMs: 5_000 })).resolves.toBe('ran');
      expect(w.app.get(AuditLog).lines).toEqual([]);
    });
  });
});
