import { HttpException, HttpStatus, type CanActivate, type ExecutionContext } from '@nestjs/common';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * @internal Every dashboard write must be sent as JSON, as the page sends it. A page on another
 * site can make the operator's browser send a plain form (urlencoded, multipart, text/plain) with
 * the operator's cookies, and no preflight; a JSON request it can send only with the app's CORS
 * consent. So a cookie-based guard cannot be ridden into a purge or a redrive (CSRF).
 */
export class JsonWritesGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ method: string; headers: Record<string, unknown> }>();
    if (READS.has(request.method.toUpperCase())) return true;
    const type = request.headers['content-type'];
    if (typeof type === 'string' && JSON_TYPE.test(type)) return true;
    throw new HttpException(
      {
        code: 'JSON_REQUIRED',
        message: 'A dashboard action must be sent with Content-Type: application/json: nothing was changed.',
      },
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    );
  }
}
