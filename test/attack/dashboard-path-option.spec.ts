import { InvalidOptionError } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';

/**
 * The dashboard's `path` is checked at forRoot(). A "." or ".." segment passed the check, yet a
 * browser resolves it away before asking ('/queues/..' asks '/'): the page could never be
 * reached, and nothing said why. Such a path is now refused by name (a review finding; the dot
 * cases failed).
 */
describe("attack: the dashboard's path option", () => {
  it.each(['/queues/..', '/..', '/.', '/a/./b', '/a/../b', '', '/', 'queues', '/queues/', '/a//b', '/a b', '/a?b'])(
    'refuses %j at forRoot(), naming `path`',
    (path) => {
      const error = (() => {
        try {
          StreamQueueDashboardModule.forRoot({ path });
        } catch (e) {
          return e;
        }
      })() as InvalidOptionError;
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error.option).toBe('path');
    },
  );

  it.each(['/queues', '/admin/queues', '/a.b/~c_d-e', '/...'])('takes %j', (path) => {
    expect(() => StreamQueueDashboardModule.forRoot({ path })).not.toThrow();
  });
});
