import { addMethodLayer } from '../../lib/redis/method-layers';

/** An object whose method records the calls that reach it. */
class Target {
  readonly calls: string[] = [];
  call(value: string): string {
    this.calls.push(value);
    return value;
  }
}

/** A layer that tags the value on its way down, as a watcher of the method would. */
const tagging = (tag: string) => (self: Target, next: (self: Target, value: string) => string, value: string) =>
  next(self, `${value}<${tag}`);

describe('addMethodLayer', () => {
  it('runs the newest layer first, the method last, on the object called', () => {
    const target = new Target();
    addMethodLayer(target, 'call', tagging('a'));
    addMethodLayer(target, 'call', tagging('b'));

    expect(target.call('x')).toBe('x<b<a');
    expect(target.calls).toEqual(['x<b<a']);
  });

  it('puts an own method back as it was, and deletes the one it added over the prototype’s', () => {
    const target = new Target();
    const own = (value: string) => `own ${value}`;
    const withOwn = Object.assign(new Target(), { call: own });
    const removals = [addMethodLayer(target, 'call', tagging('a')), addMethodLayer(withOwn, 'call', tagging('a'))];

    removals.forEach((remove) => remove());
    removals.forEach((remove) => remove()); // twice: nothing more

    expect(Object.prototype.hasOwnProperty.call(target, 'call')).toBe(false);
    expect(withOwn.call).toBe(own);
  });

  it('keeps one wrapper when the first layer goes before the second, and none after both', () => {
    const target = new Target();
    const first = addMethodLayer(target, 'call', tagging('a'));
    const wrapper = target.call;
    const second = addMethodLayer(target, 'call', tagging('b'));
    first();

    expect(target.call).toBe(wrapper);
    expect(target.call('x')).toBe('x<b');
    second();
    expect(Object.prototype.hasOwnProperty.call(target, 'call')).toBe(false);
  });

  it('leaves a wrapper put over its own, and adds later layers to its own under it', () => {
    const target = new Target();
    const first = addMethodLayer(target, 'call', tagging('a'));
    const under = target.call.bind(target);
    const theirs = (value: string) => under(`${value}<theirs`);
    target.call = theirs;
    first();
    const later = addMethodLayer(target, 'call', tagging('b'));

    expect(target.call).toBe(theirs);
    expect(target.call('x')).toBe('x<theirs<b');
    later();
    expect(target.call).toBe(theirs);
    expect(target.call('y')).toBe('y<theirs');
  });

  it('leaves a method the object lacks alone', () => {
    const target = new Target() as Target & { missing?: unknown };
    const remove = addMethodLayer(target, 'missing', tagging('a'));

    expect(target.missing).toBeUndefined();
    remove();
    expect(Object.prototype.hasOwnProperty.call(target, 'missing')).toBe(false);
  });
});
