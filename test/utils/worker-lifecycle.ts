import type { INestApplicationContext } from '@nestjs/common';

/**
 * The life of a spec's or the chaos suite's worker process once its app is built: init (which
 * starts consuming), print `ready <name>` (what spawnWorker waits for), and on SIGTERM or SIGINT
 * close the app, then `afterClose` (the process's own connections), and exit 0.
 */
export async function serveUntilSignalled(
  app: INestApplicationContext,
  name: string,
  afterClose: () => Promise<unknown>,
): Promise<void> {
  await app.init();
  const stop = async () => {
    await app.close();
    await afterClose();
    process.exit(0);
  };
  // Listen before saying ready: a signal sent on that line would otherwise meet no listener and
  // kill the process (the default action) instead of closing the app.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  console.log(`ready ${name}`);
}
