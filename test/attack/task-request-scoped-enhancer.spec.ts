import {
  Inject,
  Injectable,
  Scope,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type NestInterceptor,
} from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Observable } from 'rxjs';
import { StreamQueueModule, Task } from '../../lib';
import { TaskRegistry } from '../../lib/task/task.registry';
import { closeModule } from '../fixtures/close-module';
import { RecordingLogger } from '../fixtures/recording-logger';
import { testOptions } from '../fixtures/test-app';
import { randomPrefix } from '../utils/redis';

// Review finding: Nest counts the enhancers a class declares in its dependency tree, so one
// request-scoped interceptor (one that injects REQUEST, say) on one @Task() method, or a
// request-scoped guard on a controller that also holds tasks, makes the whole provider
// request-scoped: every task of the class is skipped, those without the enhancer too. The
// warning (and the reason a run of such a task is dead-lettered with) said "the provider is
// request-scoped (or depends on a request-scoped provider)", which it was not and did not: the
// user was sent looking at the provider's scope and dependencies, never at the enhancer.

@Injectable()
class RequestLogging implements NestInterceptor {
  constructor(@Inject(REQUEST) readonly request: unknown) {}
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/** Static itself: only one method's interceptor is request-scoped. */
@Injectable()
class MixedTasks {
  @Task('mixed.logged')
  @UseInterceptors(RequestLogging)
  logged(): string {
    return 'logged';
  }

  @Task('mixed.plain')
  plain(): string {
    return 'plain';
  }
}

/** Static itself: a class-level guard is request-scoped. */
@Injectable()
@UseGuards(RequestGuard)
class GuardedTasks {
  @Task('guarded.run')
  run(): string {
    return 'run';
  }
}

/** Request-scoped itself: the warning keeps blaming the provider. */
@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @Task('per-request.run')
  run(): string {
    return 'run';
  }
}

describe('a task provider made request-scoped by an enhancer it declares', () => {
  const logger = new RecordingLogger();
  let moduleRef: TestingModule;
  let registry: TaskRegistry;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [StreamQueueModule.forRoot(testOptions(randomPrefix(), { worker: false }))],
      providers: [MixedTasks, GuardedTasks, PerRequest],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    registry = moduleRef.get(TaskRegistry);
  });
  afterAll(() => closeModule(moduleRef));

  const warningFor = (location: string) => logger.warnings().filter((w) => w.includes(` on ${location}:`));

  it('names the request-scoped interceptor, for every task of the class it skips', () => {
    expect(registry.names()).toEqual([]);
    for (const location of ['MixedTasks.logged', 'MixedTasks.plain']) {
      const [warning] = warningFor(location);
      expect(warning).toContain('an enhancer it declares (RequestLogging) is request-scoped');
      expect(warning).not.toContain('the provider is request-scoped');
      expect(warning).toContain('give the enhancer the default scope');
    }
    expect(registry.whyMissing('mixed.plain')).toContain('an enhancer it declares (RequestLogging) is request-scoped');
  });

  it('names a request-scoped guard, though runs ignore guards', () => {
    expect(warningFor('GuardedTasks.run')[0]).toContain('an enhancer it declares (RequestGuard) is request-scoped');
  });

  it('still blames a provider that is request-scoped itself', () => {
    const [warning] = warningFor('PerRequest.run');
    expect(warning).toContain('the provider is request-scoped');
    expect(registry.whyMissing('per-request.run')).toContain('request-scoped provider');
  });
});
