import { type INestApplication, ValidationPipe } from '@nestjs/common';

/** What main.ts and the e2e spec both apply: request bodies are validated and turned into DTOs. */
export function configureApp(app: INestApplication): INestApplication {
  return app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
}
