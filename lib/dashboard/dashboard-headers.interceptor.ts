import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Observable } from 'rxjs';

/**
 * Every answer: kept by no cache (the API's carry payloads and results, which a browser's or a
 * proxy's cache would keep past the operator's session), and read as the type it says it is.
 */
const HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;

/** @internal Sets HEADERS on each dashboard answer, through the app's HTTP adapter (Express or Fastify). */
@Injectable()
export class DashboardHeadersInterceptor implements NestInterceptor {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response: unknown = context.switchToHttp().getResponse();
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(HEADERS)) adapter.setHeader(response, name, value);
    return next.handle();
  }
}
