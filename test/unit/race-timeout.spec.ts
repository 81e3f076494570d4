import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { raceTimeout, timeoutAfterPendingIo } from '../../lib/race-timeout';
import { blockEventLoop } from '../utils/block-event-loop';

class LateError extends Error {}

describe('raceTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('settles as the promise does when it wins, and leaves no timer', async () => {
    await expect(raceTimeout(Promise.resolve('on time'), 100, () => 'late')).resolves.toBe('on time');
    await expect(raceTimeout(Promise.reject(new Error('refused')), 100, () => 'late')).rejects.toThrow('refused');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('after the timeout and one turn of I/O: the value onTimeout returns, or the error it throws', async () => {
    const never = new Promise<string>(() => undefined);
    const value = raceTimeout(never, 100, () => 'late');
    const error = raceTimeout(never, 100, () => {
      throw new LateError('no answer');
    });
    const seen: string[] = [];
    void value.then(() => seen.push('value'));
    jest.advanceTimersByTime(100);
    for (let i = 0; i < 10; i++) await Promise.resolve(); // what the timer settled has settled
    expect(seen).toEqual([]);
    // The turn of I/O: an immediate, which fake timers run only when asked.
    jest.runOnlyPendingTimers();
    await expect(value).resolves.toBe('late');
    await expect(error).rejects.toBeInstanceOf(LateError);
  });

  it('unrefs its timer when asked, so a wait does not hold a closing process open', () => {
    const setTimer = jest.spyOn(global, 'setTimeout');
    const never = new Promise<void>(() => undefined);
    void raceTimeout(never, 100, () => undefined, { unref: true });
    void raceTimeout(never, 100, () => undefined);
    const [unrefd, refd] = setTimer.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect([unrefd.hasRef(), refd.hasRef()]).toEqual([false, true]);
    jest.clearAllTimers();
  });
});

describe('timeoutAfterPendingIo', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  // A run whose reply is read in the turn after its timer fired returns, and cancels: the turn too.
  it('cancelled before its timer, or between its timer and its turn of I/O, it never calls back', () => {
    const called: string[] = [];
    const early = timeoutAfterPendingIo(100, () => called.push('early'));
    const inTurn = timeoutAfterPendingIo(100, () => called.push('in turn'));
    const kept = timeoutAfterPendingIo(100, () => called.push('kept'));
    early();
    jest.advanceTimersByTime(100);
    inTurn();
    jest.runOnlyPendingTimers();
    kept();
    expect(called).toEqual(['kept']);
    expect(jest.getTimerCount()).toBe(0);
  });
});

// A review finding: with the loop blocked past the timeout (a big JSON.parse, a GC pause), Node ran
// the expired timer before it read the socket where the reply waited, and the reply lost.
describe('raceTimeout, on an event loop blocked past the timeout', () => {
  it('a reply that arrived meanwhile wins', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const [peer] = await accepted;
    try {
      const reply = (once(peer, 'data') as Promise<[Buffer]>).then(([data]) => String(data));
      const raced = raceTimeout(reply, 10, () => 'late');
      // Written to the kernel at once: it waits in the peer's socket while the loop is blocked.
      client.write('reply');
      blockEventLoop(100);
      await expect(raced).resolves.toBe('reply');
    } finally {
      client.destroy();
      peer.destroy();
      server.close();
    }
  });
});
