import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

/**
 * MONITOR on a socket of its own, for specs that count the commands Redis ran. Not ioredis's
 * monitor(): it enters monitoring mode a microtask after MONITOR's OK, and output that arrives in
 * the same chunk as the OK (any traffic on the server) goes to its command queue, which is empty:
 * "Command queue state error", and the connection is lost. Here every line after the OK is
 * output, and an argument's escapes (`\"`, `\\`, `\xHH`, ...) are decoded, so an argument that
 * holds `" "` or a NUL reads back whole.
 *
 * Emits 'monitor' (time, args, source, database), as ioredis does: `source` is `lua` for the
 * commands a script ran, else the client's address.
 */
export class MonitorConnection extends EventEmitter {
  private buffered = '';

  private constructor(private readonly socket: Socket) {
    super();
  }

  /** Connects to `url` (redis://[user:password@]host:port), sends MONITOR, resolves on its OK. */
  static open(url: string): Promise<MonitorConnection> {
    const { hostname, port, username, password, protocol } = new URL(url);
    if (protocol !== 'redis:') throw new Error(`MonitorConnection speaks plain TCP only, not ${protocol}`);
    const socket = connect(Number(port || 6379), hostname);
    socket.setEncoding('latin1'); // one char per byte: \xHH escapes decode to the bytes Redis saw
    const monitor = new MonitorConnection(socket);
    const auth = password
      ? `AUTH ${username ? `${decodeURIComponent(username)} ` : ''}${decodeURIComponent(password)}\r\n`
      : '';
    socket.write(`${auth}MONITOR\r\n`);
    return new Promise((resolve, reject) => {
      let okays = auth ? 2 : 1;
      const onData = (chunk: string) => {
        monitor.buffered += chunk;
        for (let end = monitor.buffered.indexOf('\r\n'); end >= 0; end = monitor.buffered.indexOf('\r\n')) {
          const line = monitor.buffered.slice(0, end);
          monitor.buffered = monitor.buffered.slice(end + 2);
          if (okays > 0) {
            if (!line.startsWith('+OK')) {
              socket.destroy();
              return reject(new Error(`MONITOR refused: ${line}`));
            }
            if (--okays === 0) resolve(monitor);
          } else {
            monitor.output(line);
          }
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.on('error', () => undefined); // after the OK: a closed server ends the output, nothing more
    });
  }

  disconnect(): void {
    this.socket.destroy();
  }

  /** One output line: `+<time> [<db> <source>] "<arg>" "<arg>" ...`. */
  private output(line: string): void {
    const match = /^\+(\S+) \[(\d+) ([^\]]+)\] (.*)$/.exec(line);
    if (!match) return;
    const [, time, database, source, rest] = match;
    this.emit('monitor', time, quotedArgs(rest), source, database);
  }
}

/** The arguments of a MONITOR line, each `"..."` with C-style escapes (sdscatrepr), decoded as UTF-8. */
function quotedArgs(text: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    let bytes = '';
    for (i++; i < text.length && text[i] !== '"'; i++) {
      if (text[i] !== '\\') {
        bytes += text[i];
        continue;
      }
      const next = text[++i];
      if (next === 'x') {
        bytes += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes += ESCAPES[next] ?? next;
      }
    }
    args.push(Buffer.from(bytes, 'latin1').toString('utf8'));
    i++;
  }
  return args;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' };
