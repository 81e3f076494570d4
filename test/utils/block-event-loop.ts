import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/**
 * Blocks this process's event loop, as a CPU-bound moment does (a big JSON.parse, a GC pause),
 * for at least `minMs`; with `answeredBy` (a Redis port), also until that Redis has answered
 * everything its clients sent it. A command this process sent before the block then has its reply
 * waiting in this process's socket when the loop frees: the interleaving a timeout raced against
 * the reply must get right, made certain rather than hoped for.
 *
 * The Redis is asked from a child process (this one cannot run a callback while blocked), which
 * starts tens of ms after the block began, so what was sent before it has reached Redis.
 */
export function blockEventLoop(minMs: number, { answeredBy }: { answeredBy?: number } = {}): void {
  const until = Date.now() + minMs;
  if (answeredBy !== undefined) {
    const child = spawnSync(process.execPath, ['-e', ANSWERED, String(answeredBy)], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    if (child.stdout.trim() !== 'answered') {
      throw new Error(`Redis at port ${answeredBy} did not answer its clients: ${child.stdout}${child.stderr}`);
    }
  }
  while (Date.now() < until) {
    // Busy: nothing else runs, no timer, no socket read.
  }
}

/**
 * Polls CLIENT LIST (raw RESP: no client library to load) until, twice in a row, no client but
 * this one has a command Redis has not read (qbuf) or a reply it has not written (obl, oll).
 */
const ANSWERED = `
const { connect } = require('node:net');
const port = Number(process.argv[1]);
const list = () => new Promise((resolve, reject) => {
  const socket = connect(port, '127.0.0.1');
  let reply = Buffer.alloc(0);
  socket.on('error', reject);
  socket.on('data', (chunk) => {
    reply = Buffer.concat([reply, chunk]);
    const head = reply.indexOf('\\r\\n');
    const length = Number(reply.subarray(1, head));
    if (head > 0 && reply.length >= head + 2 + length) {
      socket.destroy();
      resolve(reply.subarray(head + 2, head + 2 + length).toString());
    }
  });
  socket.write('CLIENT LIST\\r\\n');
});
const clean = (text) =>
  text.trim().split('\\n').every((line) =>
    / cmd=client\\|list /.test(line) || (/ qbuf=0 /.test(line) && / obl=0 /.test(line) && / oll=0 /.test(line)));
(async () => {
  let streak = 0;
  for (const end = Date.now() + 10000; Date.now() < end; ) {
    streak = clean(await list()) ? streak + 1 : 0;
    if (streak === 2) return console.log('answered');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  console.log('still busy');
})().catch((error) => console.log(String(error)));
`;

/**
 * Blocks the event loop (see blockEventLoop) right after `redis` writes a command that holds
 * `marker`, once the code that wrote it has run on: the command is in the kernel, so Redis runs
 * it, and delivers what it publishes, while this process cannot read. `minMs` is asked when the
 * block begins. Resolves, once the block is over, with when it began (performance.now()). Every
 * command still goes to Redis as written.
 */
export function blockAfterWrite(
  redis: Redis,
  marker: string,
  minMs: () => number,
  options: { answeredBy?: number } = {},
): Promise<number> {
  const socket = redis.stream as Socket;
  const write = socket.write;
  return new Promise((resolve, reject) => {
    socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
      const written = (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      if (String(chunk).includes(marker)) {
        socket.write = write;
        queueMicrotask(() => {
          const began = performance.now();
          try {
            blockEventLoop(minMs(), options);
            resolve(began);
          } catch (error) {
            reject(error as Error);
          }
        });
      }
      return written;
    } as Socket['write'];
  });
}
