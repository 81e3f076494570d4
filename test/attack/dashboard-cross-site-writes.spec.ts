import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/** A cookie session, as many admin guards are: a browser sends it with a cross-site form too. */
class CookieGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers.cookie === 'session=admin';
  }
}

/**
 * A page on another site can make the operator's browser send a plain form (urlencoded,
 * multipart or text/plain, no preflight) with the operator's cookie. The dashboard's actions took
 * such a POST: an empty form to /purge purged every dead letter, one to /redrive-all redrove them,
 * one to /cancel cancelled a key. A write now needs the page's own JSON request, which a form
 * cannot send and a cross-site script cannot without the app's CORS consent (a review finding).
 */
describe('attack: dashboard actions from a cross-site form', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  const dash = dashboardAppForSuite(prefix, redis, { dashboard: { path: '/queues', guard: CookieGuard } });

  const deadLetter = () =>
    redis.xadd(keys.deadLetter, '*', 'id', 't-1', 'n', 'echo', 'p', '"x"', 'a', '1', 'reason', 'r');
  const send = (path: string, method: string, contentType?: string, body?: string) =>
    fetch(`${dash.base}/${path}`, {
      method,
      headers: { cookie: 'session=admin', ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    });

  it.each([
    ['an urlencoded form', 'application/x-www-form-urlencoded', ''],
    ['a text/plain form', 'text/plain', ''],
    ['a multipart form', 'multipart/form-data; boundary=x', '--x--\r\n'],
    ['no body at all', undefined, undefined],
  ])('refuses %s: nothing is purged, redriven or cancelled', async (_, contentType, body) => {
    await redis.del(keys.deadLetter);
    await deadLetter();
    for (const path of ['dead-letters/purge', 'dead-letters/redrive-all', 'keys/k/cancel']) {
      const response = await send(path, 'POST', contentType, body);
      expect([path, response.status]).toEqual([path, 415]);
      await expect(response.json()).resolves.toMatchObject({ message: expect.stringMatching(/application\/json/) });
    }
    expect((await send('tasks/t-1', 'DELETE', contentType, body)).status).toBe(415);
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
  });

  it("takes the page's own JSON requests", async () => {
    await redis.del(keys.deadLetter);
    const newest = await deadLetter();
    // A purge names its ids or says all (bounded by the newest listed): an empty body purges nothing.
    expect((await send('dead-letters/purge', 'POST', 'application/json', '{}')).status).toBe(400);
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
    const purged = await send(
      'dead-letters/purge',
      'POST',
      'application/json',
      JSON.stringify({ all: true, upTo: [newest] }),
    );
    expect(purged.status).toBe(201);
    await expect(purged.json()).resolves.toEqual({ purged: 1 });
    expect((await send('keys/k/cancel', 'POST', 'application/json; charset=utf-8')).status).toBe(404);
  });
});
