import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { request } from 'node:http';
import { QueueKeys } from '../../lib/redis/keys';
import { dashboardAppForSuite } from '../fixtures/dashboard-app';
import { createRedis, randomPrefix } from '../utils/redis';

/** A cookie session, as many admin guards are: a browser sends it with another site's request too. */
class CookieGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers.cookie === 'session=admin';
  }
}

/** The headers a browser puts on a script's fetch from another origin, with the operator's cookie. */
const fromScriptOf = (site: 'cross-site' | 'same-site', origin: string) => ({
  cookie: 'session=admin',
  origin,
  'sec-fetch-site': site,
  'sec-fetch-mode': 'cors',
  'sec-fetch-dest': 'empty',
});

/**
 * A request with exactly these headers (fetch sets its own Sec-Fetch-Mode, `cors`, over any given).
 */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, type: response.headers['content-type'], body: text }),
      );
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

/**
 * The dashboard took a JSON write from a script of any origin the app's CORS lets in: an app
 * that reflects origins with credentials (`enableCors({ origin: true, credentials: true })`, a
 * common setting for a SPA on another host) let any site purge every dead letter with the
 * operator's cookie, and read every payload through the API. The page's own requests are all
 * same-origin (relative URLs), and a browser says where a request comes from (Sec-Fetch-Site):
 * one from another origin is now refused, 403, but a top-level navigation to the page (a link
 * from a chat or a wiki). A request without the header (curl, an older browser) is as before. A
 * review finding; it failed.
 */
describe('attack: dashboard requests from another origin, the app consenting to CORS', () => {
  const prefix = randomPrefix();
  const redis = createRedis();
  const keys = new QueueKeys(prefix, 'default');
  const dash = dashboardAppForSuite(prefix, redis, {
    dashboard: { path: '/queues', guard: CookieGuard },
    beforeListen: (app) => app.enableCors({ origin: true, credentials: true }),
  });

  const deadLetter = () =>
    redis.xadd(keys.deadLetter, '*', 'id', 't-1', 'n', 'echo', 'p', '"card 4242"', 'a', '1', 'reason', 'r');
  /** The newest dead letter: the bound of a purge of all, as the page's listing gives it. */
  let newest: string;
  const purgeAll = (headers: Record<string, string>) =>
    send(
      `${dash.base}/dead-letters/purge`,
      'POST',
      { 'content-type': 'application/json', ...headers },
      JSON.stringify({ all: true, upTo: [newest] }),
    );

  beforeEach(async () => {
    await redis.del(keys.deadLetter);
    newest = (await deadLetter())!;
  });

  it.each([
    ['another site', 'cross-site', 'https://evil.example'],
    ['a sibling subdomain', 'same-site', 'https://blog.example.com'],
  ] as const)("refuses a write from %s's script: nothing is purged", async (_, site, origin) => {
    const response = await purgeAll(fromScriptOf(site, origin));
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'CROSS_ORIGIN' });
    expect(await redis.xlen(keys.deadLetter)).toBe(1);
  });

  it("refuses another site's script a read: no payload is answered", async () => {
    for (const path of ['tasks?state=dead', '../../overview']) {
      const response = await send(
        new URL(path, `${dash.base}/`).href,
        'GET',
        fromScriptOf('cross-site', 'https://evil.example'),
      );
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.body).not.toContain('4242');
    }
  });

  it("takes the page's own requests, a navigation from a link, and a request without the header", async () => {
    const own = { cookie: 'session=admin', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
    const listed = await send(`${dash.base}/tasks?state=dead`, 'GET', own);
    expect(listed.status).toBe(200);
    expect(listed.body).toContain('4242');
    const navigated = await send(`${dash.origin}/queues`, 'GET', {
      cookie: 'session=admin',
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    });
    expect(navigated.status).toBe(200);
    expect(navigated.type).toMatch(/^text\/html/);
    expect((await purgeAll(own)).status).toBe(201);
    expect(await redis.xlen(keys.deadLetter)).toBe(0);
    newest = (await deadLetter())!;
    expect((await purgeAll({ cookie: 'session=admin' })).status).toBe(201);
    expect(await redis.xlen(keys.deadLetter)).toBe(0);
  });
});
