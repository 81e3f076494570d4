import { raceTimeout } from '../../lib/race-timeout';

class LateError extends Error {}

describe('raceTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('settles as the promise does when it wins, and leaves no timer', async () => {
    await expect(raceTimeout(Promise.resolve('on time'), 100, () => 'late')).resolves.toBe('on time');
    await expect(raceTimeout(Promise.reject(new Error('refused')), 100, () => 'late')).rejects.toThrow('refused');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('after the timeout: the value onTimeout returns, or the error it throws', async () => {
    const never = new Promise<string>(() => undefined);
    const value = raceTimeout(never, 100, () => 'late');
    const error = raceTimeout(never, 100, () => {
      throw new LateError('no answer');
    });
    jest.advanceTimersByTime(100);
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
