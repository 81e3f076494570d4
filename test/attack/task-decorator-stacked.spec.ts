import { InvalidOptionError, Task } from '../../lib';

/**
 * Two @Task() on one method: the outer one overwrote the inner one's metadata, so one name had
 * no handler and nothing said so (its tasks then failed as unknown). A method now takes one
 * @Task(), and a second one fails where the class is defined, naming both (a review finding;
 * the spec failed).
 */
describe('attack: two @Task() on one method', () => {
  it('fails at the class definition, naming both names', () => {
    const define = () => {
      class Mailer {
        @Task('mail.send')
        @Task('mail.resend')
        send(): void {}
      }
      return Mailer;
    };
    expect(define).toThrow(InvalidOptionError);
    expect(define).toThrow(/mail\.send.*mail\.resend|mail\.resend.*mail\.send/);
  });

  it('one @Task() per method, on several methods of a class, is taken', () => {
    expect(() => {
      class Mailer {
        @Task('mail.send')
        send(): void {}

        @Task('mail.resend')
        resend(): void {}
      }
      return Mailer;
    }).not.toThrow();
  });
});
