import { Injectable, Module, Scope, UseInterceptors, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { Task } from '../../lib';
import { useProbeApps } from '../fixtures/probe-apps';
import { logger, startApp } from '../fixtures/test-app';

// Review finding: Nest applies a request-scoped or transient APP_INTERCEPTOR within a request
// only (an external context without an inquirer gets the static global interceptors alone), so
// it never wrapped a task run, even one that declares interceptors of its own and so gets the
// global chain: a request-logging or tenant interceptor registered globally silently did not
// apply to runs, and nothing said so. Bootstrap now warns, naming them.

/** What each interceptor saw: which of them wrapped the run. */
const seen: string[] = [];

const marking = (mark: string) => {
  @Injectable()
  class Marking implements NestInterceptor {
    intercept(_context: unknown, next: CallHandler): Observable<unknown> {
      seen.push(mark);
      return next.handle();
    }
  }
  return Marking;
};

@Injectable({ scope: Scope.REQUEST })
class RequestLogging extends marking('request-scoped global') {}

@Injectable({ scope: Scope.TRANSIENT })
class PerUseTiming extends marking('transient global') {}

@Injectable()
class Counting extends marking('singleton global') {}

@Injectable()
class Local extends marking('local') {}

@Injectable()
class GlobalsTasks {
  @Task('globals.run')
  @UseInterceptors(Local)
  run(): string {
    return 'ran';
  }
}

@Module({
  providers: [
    GlobalsTasks,
    { provide: APP_INTERCEPTOR, useClass: RequestLogging },
    { provide: APP_INTERCEPTOR, useClass: PerUseTiming },
    { provide: APP_INTERCEPTOR, useClass: Counting },
  ],
})
class GlobalsModule {}

/** An entry provider (marked so by a framework decorator): Nest passes it as the inquirer. */
@Injectable()
class EntryTasks {
  @Task('globals.entry')
  @UseInterceptors(Local)
  run(): string {
    return 'ran';
  }
}
Reflect.defineMetadata('__entryProvider__', true, EntryTasks);

@Module({ providers: [EntryTasks, { provide: APP_INTERCEPTOR, useClass: PerUseTiming }] })
class EntryModule {}

describe('attack: request-scoped and transient global interceptors', () => {
  const env = useProbeApps();

  it('do not wrap a run, and bootstrap says so, naming them', async () => {
    const w = await startApp({ prefix: env.prefix, probe: env.probe, imports: [GlobalsModule] });
    await expect((await w.client.enqueue('globals.run', {})).result({ timeoutMs: 5_000 })).resolves.toBe('ran');
    expect(seen).toEqual(['singleton global', 'local']);
    const warning = logger.warnings().find((line) => line.startsWith('Global interceptors'));
    expect(warning).toBe(
      'Global interceptors RequestLogging (request-scoped, in GlobalsModule), PerUseTiming (transient, in GlobalsModule) do not wrap task runs: Nest applies a request-scoped or transient APP_INTERCEPTOR within a request only. The tasks with interceptors (GlobalsTasks.run) run without them; give an interceptor the default scope if runs need it.',
    );
  });

  it('a transient one wraps the runs of an entry provider, which the warning leaves out', async () => {
    seen.length = 0;
    const w = await startApp({ prefix: env.prefix, probe: env.probe, imports: [EntryModule] });
    await expect((await w.client.enqueue('globals.entry', {})).result({ timeoutMs: 5_000 })).resolves.toBe('ran');
    expect(seen).toEqual(['transient global', 'local']);
    expect(logger.warnings().filter((line) => line.includes('EntryTasks.run'))).toEqual([]);
  });
});
