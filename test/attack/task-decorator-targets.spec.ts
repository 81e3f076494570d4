import { InvalidOptionError, Task } from '../../lib';

/**
 * @Task() on something discovery never reads: a static method or a symbol-named method was taken
 * without a word and never registered (discovery walks the prototype's string-named methods), so
 * the task had no handler and nothing said why; on a getter or a property (from JavaScript, or
 * through a cast) it failed with a bare TypeError naming neither the task nor the member. Each
 * now fails where the class is defined, naming the task and Class.member (a review finding; the
 * spec failed).
 */
describe('attack: @Task() on a member that is no instance method', () => {
  const thrown = (define: () => unknown): Error => {
    try {
      define();
    } catch (error) {
      return error as Error;
    }
    throw new Error('the class definition did not fail');
  };

  it('refuses a static method', () => {
    const error = thrown(() => {
      class Reports {
        @Task('reports.build')
        static build(): void {}
      }
      return Reports;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/reports\.build.*Reports\.build.*static/);
  });

  it('refuses a symbol-named method', () => {
    const run = Symbol('run');
    const error = thrown(() => {
      class Reports {
        @Task('reports.run')
        [run](): void {}
      }
      return Reports;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/reports\.run.*Reports\.Symbol\(run\).*string name/);
  });

  it('refuses a getter', () => {
    const error = thrown(() => {
      class Reports {
        @Task('reports.get')
        get handler(): () => void {
          return () => undefined;
        }
      }
      return Reports;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/reports\.get.*Reports\.handler.*accessor/);
  });

  it('refuses a property (an arrow function field)', () => {
    const decorate = Task('reports.field') as unknown as PropertyDecorator;
    const error = thrown(() => {
      class Reports {
        field = (): void => undefined;
      }
      decorate(Reports.prototype, 'field');
      return Reports;
    });
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/reports\.field.*Reports\.field.*property/);
  });
});
