import 'reflect-metadata';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './configure-app';
import { readRole, SAMPLE_CONFIG, serves, type Role, type SampleConfig } from './sample.config';

/**
 * Runs the sample as `api` (HTTP producer), `worker` (consumer, no HTTP) or `all` (default):
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register sample-app/main.ts [api|worker|all]
 *   (TS_NODE_PROJECT=sample-app/tsconfig.json; `npm run sample` does this), or `nest start sample-app`
 */
async function bootstrap(role: Role, logger: Logger): Promise<INestApplicationContext> {
  if (!serves(role)) {
    const app = await NestFactory.createApplicationContext(AppModule.forRole(role));
    const config = app.get<SampleConfig>(SAMPLE_CONFIG);
    logger.log(`worker: consuming from Redis ${config.redisUrl}, prefix "${config.prefix}"`);
    return app;
  }
  const app = configureApp(await NestFactory.create(AppModule.forRole(role)));
  const config = app.get<SampleConfig>(SAMPLE_CONFIG);
  try {
    await app.listen(config.port);
  } catch (error) {
    await app.close();
    throw error;
  }
  logger.log(
    `${config.role}: HTTP on http://localhost:${config.port}, Redis ${config.redisUrl}, prefix "${config.prefix}"`,
  );
  return app;
}

/**
 * app.close() drains in-flight tasks (up to shutdownTimeoutMs) before closing Redis. Handled here
 * rather than by enableShutdownHooks() so a clean stop exits with 0, a signal received while
 * still bootstrapping waits for the app to exist, and the same Ctrl-C delivered twice (the
 * terminal and the runner both send it) does not interrupt the drain; a later one does.
 */
function stopOnSignals(app: Promise<INestApplicationContext>, logger: Logger): void {
  let stoppingSince = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (stoppingSince) {
      if (Date.now() - stoppingSince < 1_000) return;
      logger.warn(`${signal} again: exiting without waiting for the drain`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    logger.log(`${signal}: draining in-flight tasks, then closing`);
    app
      .then((ready) => ready.close())
      .then(
        () => {
          logger.log('stopped cleanly');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error(`shutdown failed: ${error instanceof Error ? error.stack : String(error)}`);
          process.exit(1);
        },
      );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
}

const logger = new Logger('Sample');
const app = Promise.resolve().then(() => bootstrap(readRole(), logger));
stopOnSignals(app, logger);
app.catch((error: unknown) => {
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
