import { Command, type Redis } from 'ioredis';

/** One command as Redis answered it, for the trace. */
export interface WireRecord {
  readonly name: string;
  readonly args: unknown[];
  readonly reply: unknown;
}

type Settle = () => void;

/**
 * The explorer's control over one connection, between the library and Redis. Every command
 * still executes in Redis in order, at once; what the explorer controls is what the caller sees:
 * - `holding`: replies are kept back until release(), so the caller sees them after other steps
 *   (a reply delayed in transit past a lapse);
 * - `resending`: each script call is sent twice and the caller sees the second reply (ioredis
 *   resends an unanswered command after a reconnect, but Redis had run the first).
 * `outstanding` counts commands sent and not yet answered by Redis: the explorer waits for 0
 * before it judges a step done.
 */
export class Wire {
  holding = false;
  resending = false;
  private held: Settle[] = [];
  private records: WireRecord[] = [];
  private static outstanding = 0;

  constructor(readonly redis: Redis) {
    const send = redis.sendCommand.bind(redis) as (command: Command, stream?: unknown) => unknown;
    redis.sendCommand = ((command: Command, stream?: unknown) => {
      if (this.resending && isScript(command.name)) {
        const twin = new Command(command.name, [...command.args], { replyEncoding: 'utf8' });
        this.watch(twin, false);
        twin.promise.catch(() => undefined); // its reply is lost in transit: nobody awaits it
        send(twin);
      }
      this.watch(command, this.holding);
      return send(command, stream);
    }) as Redis['sendCommand'];
  }

  static idle(): boolean {
    return Wire.outstanding === 0;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Lets every held reply reach its caller, oldest first. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const settle of held) settle();
  }

  /** Script calls and their replies since the last take(). */
  take(): WireRecord[] {
    const records = this.records;
    this.records = [];
    return records;
  }

  private watch(command: Command, hold: boolean): void {
    Wire.outstanding++;
    const { resolve, reject } = command;
    const answered = (reply: unknown, settle: Settle) => {
      Wire.outstanding--;
      if (isScript(command.name)) this.records.push({ name: command.name, args: command.args, reply });
      if (hold) this.held.push(settle);
      else settle();
    };
    command.resolve = (value: unknown) => answered(value, () => resolve(value));
    command.reject = (error: Error) => answered(error, () => reject(error));
  }
}

function isScript(name: string): boolean {
  return name === 'evalsha' || name === 'eval';
}
