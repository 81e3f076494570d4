import { Injectable } from '@nestjs/common';

/** The mail service the README's quick start injects; an application's own would send mail. */
@Injectable()
export class Mailer {
  async send(_to: string, _options: { signal: AbortSignal; idempotencyKey: string }): Promise<void> {}
}
