import { InvalidOptionError, Task } from '../../lib';

/**
 * @Task() with a symbol for a name (from JavaScript, or through a cast) decorates since 79b7da6
 * and is refused at bootstrap; but when the decorator itself refused the method (one it cannot
 * register, or one already decorated), it built its message with `@Task('${name}')`, which throws
 * a TypeError ("Cannot convert a Symbol value to a string") in place of the InvalidOptionError
 * naming the method (a review finding; the spec failed).
 */
describe('attack: @Task() with a symbol name refused where the class is defined', () => {
  const name = Symbol('build') as unknown as string;
  const thrown = (define: () => unknown): Error => {
    try {
      define();
    } catch (error) {
      return error as Error;
    }
    throw new Error('the class definition did not fail');
  };

  it('on a static method: an InvalidOptionError naming the method', () => {
    const error = thrown(() => {
      class Reports {
        @Task(name)
        static build(): void {}
      }
      return Reports;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/@Task\('Symbol\(build\)'\).*Reports\.build.*static/);
  });

  it('twice on one method, either name a symbol: an InvalidOptionError naming both', () => {
    const twice = (outer: string, inner: string) =>
      thrown(() => {
        class Reports {
          @Task(outer)
          @Task(inner)
          build(): void {}
        }
        return Reports;
      });
    for (const error of [twice('reports.build', name), twice(name, 'reports.build')]) {
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error.message).toMatch(/one @Task\(\) per method/);
      expect(error.message).toContain('Symbol(build)');
    }
  });
});
