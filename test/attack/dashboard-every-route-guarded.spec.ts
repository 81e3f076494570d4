import { RequestMethod, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { QueueClient } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';
import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-token'] === 'admin';
  }
}

/**
 * Every route the dashboard module declares, read from its controllers' metadata (so a route
 * added later is checked too), goes through the user's guard, whatever its method: without the
 * token each answers 403, as JSON writes the page would send, and nothing changes in Redis. A
 * control from the dashboard review, kept: it held, and the browser spec checks two routes only.
 */
describe("attack: every dashboard route behind the user's guard", () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  const dashboard = StreamQueueDashboardModule.forRoot({ path: '/queues', guard: TokenGuard });
  const dash = dashboardAppForSuite(prefix, redis, { dashboard });

  /** [method, path] of every route, its parameters filled with what exists in Redis. */
  function routes(params: Record<string, string>): [string, string][] {
    const found: [string, string][] = [];
    for (const controller of dashboard.controllers ?? []) {
      const base = String(Reflect.getMetadata(PATH_METADATA, controller));
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        if (name === 'constructor') continue;
        const handler = controller.prototype[name] as object;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        const filled = path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(params[p]));
        found.push([method, `${base}/${filled}`.replace(/\/+/g, '/').replace(/\/$/, '')]);
      }
    }
    return found;
  }

  it('answers 403 on each, for each method, and changes nothing', async () => {
    const dead = (await redis.xadd(
      keys.deadLetter,
      '*',
      'id',
      't-1',
      'n',
      'echo',
      'p',
      '"x"',
      'a',
      '1',
      'reason',
      'r',
    ))!;
    const queued = await dash.app.get(QueueClient).enqueue('echo', 'x', { key: 'k' });
    const all = routes({ queue: 'default', id: queued.id, key: 'k' }).map(([m, p]): [string, string] =>
      p.includes('dead-letters/') && p.endsWith(`/${queued.id}/redrive`) ? [m, p.replace(queued.id, dead)] : [m, p],
    );
    expect(all.length).toBeGreaterThanOrEqual(12);
    for (const [method, path] of all) {
      for (const verb of method === 'GET' ? ['GET', 'HEAD'] : [method]) {
        const answer = await fetch(`${dash.origin}${path}?state=dead`, {
          method: verb,
          headers: { 'content-type': 'application/json' },
          body: verb === 'GET' || verb === 'HEAD' ? undefined : '{"name":"echo","payload":1}',
        });
        expect([verb, path, answer.status]).toEqual([verb, path, 403]);
      }
    }
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
    expect((await dash.app.get(QueueClient).status('k'))?.state).toBe('queued');
    expect((await dash.app.get(QueueClient).list('queued')).tasks.map((t) => t.id)).toEqual([queued.id]);
  });
});
