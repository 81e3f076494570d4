import { createServer } from 'node:net';

/**
 * Asks the kernel for an unused loopback port. Another process can take it before the caller binds
 * it, so callers that bind must retry on "address in use" (startRedisServer does).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
