import { HttpException, HttpStatus, type CanActivate, type ExecutionContext } from '@nestjs/common';

/** What a browser says of a request's initiator that is not this origin. */
const OTHER_ORIGIN = new Set(['same-site', 'cross-site']);

/**
 * @internal Every dashboard request the browser marks as sent from another origin is refused,
 * reads and writes alike, but a top-level navigation to the page (a link in a chat or a wiki). The
 * page asks only its own origin (relative URLs), so it never sends one. JsonWritesGuard keeps a
 * cross-site form out; a script needs the app's CORS consent, and an app that gives it broadly
 * (`enableCors({ origin: true, credentials: true })`, or to a sibling subdomain) let any such
 * site purge and redrive with the operator's cookie, and read every payload. Sec-Fetch-Site is
 * set by the browser, which a page cannot forge, and survives a proxy that rewrites Host (an Origin
 * compared with Host would not). Browsers send it to HTTPS origins and localhost only; a request
 * without it (curl, plain HTTP, a browser before 2023) goes through as before.
 */
export class SameOriginGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { method, headers } = context
      .switchToHttp()
      .getRequest<{ method: string; headers: Record<string, string | string[] | undefined> }>();
    const site = headers['sec-fetch-site'];
    if (typeof site !== 'string' || !OTHER_ORIGIN.has(site.toLowerCase())) return true;
    const navigation = headers['sec-fetch-mode'] === 'navigate' && ['GET', 'HEAD'].includes(method.toUpperCase());
    if (navigation) return true;
    throw new HttpException(
      {
        code: 'CROSS_ORIGIN',
        message: 'The dashboard answers only its own page: a request from another origin reads and changes nothing.',
      },
      HttpStatus.FORBIDDEN,
    );
  }
}
