import type { HttpServer } from '@nestjs/common';
import { setDashboardHeaders } from './dashboard-headers.middleware';

interface NodeRequest {
  originalUrl?: string;
  url?: string;
}
interface NodeResponse {
  setHeader(name: string, value: string): unknown;
  headersSent?: boolean;
}

/**
 * @internal Whether a request's path holds the dashboard's `path` as whole segments. The app's
 * global prefix, a RouterModule path or a version segment may come before it, and none is known
 * for certain before a route matched; a request of another route that happens to hold these
 * segments gets two headers that only make its answer safer.
 */
export function dashboardRequestMatcher(path: string): (request: NodeRequest) => boolean {
  // In any letter case, as Express routes by default (`path` is ASCII: the lengths agree).
  const wanted = path.toLowerCase();
  return (request) => {
    const url = (request.originalUrl ?? request.url ?? '').split('?')[0].toLowerCase();
    for (let at = url.indexOf(wanted); at !== -1; at = url.indexOf(wanted, at + 1)) {
      const after = url[at + wanted.length];
      if (after === undefined || after === '/') return true;
    }
    return false;
  };
}

/**
 * @internal The dashboard's headers on what Express answers for its requests before any of its
 * routes matched, which the route middleware (dashboardHeaders) never sees: a body the app's
 * JSON parser rejects (400, 413), a segment that is no valid percent-encoding (400), both passed
 * on as errors before routing, and a path under the dashboard that no route has (404). Nest
 * registers the parser before the routes and its error and not-found handlers after them, so
 * these two, added as the modules initialise (after the routes), see both. Express only: Fastify
 * runs middleware before it parses a body (dashboardHeaders covers a rejected body there), and
 * its unrouted answers are not covered (no Fastify adapter is tested here).
 */
export function addUnroutedDashboardHeaders(server: HttpServer, path: string): void {
  if (server.getType() !== 'express') return;
  const isDashboard = dashboardRequestMatcher(path);
  const mark = (request: NodeRequest, response: NodeResponse) => {
    if (!response.headersSent && isDashboard(request)) setDashboardHeaders(response);
  };
  // Four parameters: Express calls such a function only with an error.
  server.use((error: unknown, request: NodeRequest, response: NodeResponse, next?: Function) => {
    mark(request, response);
    next?.(error);
  });
  server.use((request: NodeRequest, response: NodeResponse, next?: Function) => {
    mark(request, response);
    next?.();
  });
}
