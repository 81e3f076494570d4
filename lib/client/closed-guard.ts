import { Observable } from 'rxjs';
import { ApplicationClosedError } from '../errors';
import { refusedAtClose } from '../redis/close-unconnected';
import type { RedisConnections } from '../redis/redis-connections';

/**
 * @internal QueueClient's calls once the application closed (its connections are gone): each is
 * refused with ApplicationClosedError before it sends anything, and one that close cut short
 * (a command after QUIT, which Redis never ran) fails with it too, not with ioredis's bare
 * "Connection is closed.". An events() subscription open at close completes.
 */
export class ClosedGuard {
  constructor(private readonly connections: RedisConnections) {}

  /** Throws when the application is closed: nothing of `what` was sent. */
  check(what: string): void {
    if (this.connections.isClosed)
      throw new ApplicationClosedError(`The application is closed: ${what} sent nothing, wrote nothing.`);
  }

  /** Runs `call` unless closed; a command of it that close refused rejects it typed. */
  async run<T>(what: string, call: () => Promise<T>): Promise<T> {
    this.check(what);
    try {
      return await call();
    } catch (error) {
      if (!this.connections.isClosed || error instanceof ApplicationClosedError) throw error;
      if (!(refusedAtClose(error as Error) instanceof ApplicationClosedError)) throw error;
      throw new ApplicationClosedError(
        `The application closed during ${what}: a command of it was never sent (those sent before it were run).`,
      );
    }
  }

  /** `source` subscribed unless closed (then it errors at once); it completes when the application closes. */
  events<T>(what: string, source: Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      try {
        this.check(what);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      const stop = this.connections.whenClosing(() => subscriber.complete());
      const inner = source.subscribe(subscriber);
      return () => {
        stop();
        inner.unsubscribe();
      };
    });
  }
}
