/**
 * Every answer: kept by no cache (the API's carry payloads and results, which a browser's or a
 * proxy's cache would keep past the operator's session), and read as the type it says it is.
 */
const HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;

interface HeaderTarget {
  setHeader(name: string, value: string): unknown;
}

/** @internal Sets HEADERS on a response. */
export function setDashboardHeaders(response: HeaderTarget): void {
  for (const [name, value] of Object.entries(HEADERS)) response.setHeader(name, value);
}

/**
 * @internal Sets HEADERS on each request of the dashboard's routes. A middleware, so they are set
 * before any guard (the app's global ones, the user's, the dashboard's own) or filter answers:
 * a refusal (403, 404, 415) carries them as a handler's answer does. Express and Fastify both
 * hand middleware Node's own response, whose headers every later writer keeps. What Express
 * answers before matching a route is covered by unroutedDashboardHeaders.
 */
export function dashboardHeaders(_request: unknown, response: HeaderTarget, next: () => void): void {
  setDashboardHeaders(response);
  next();
}
