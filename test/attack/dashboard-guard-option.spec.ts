import type { CanActivate } from '@nestjs/common';
import { InvalidOptionError } from '../../lib';
import { StreamQueueDashboardModule } from '../../lib/dashboard';

/**
 * The dashboard's `guard` is a guard class or an instance. Any function passed the check: an
 * arrow function (`guard: (ctx) => isAdmin(ctx)`) failed the app's compile with "metatype is not
 * a constructor", a class without canActivate failed at listen with Nest's message: neither named
 * the option. Both are now refused at forRoot(), naming `guard` (a review finding; it failed).
 */
describe("attack: the dashboard's guard option", () => {
  class Misnamed {
    canactivate(): boolean {
      return true;
    }
  }
  const arrow = (): boolean => true;

  it.each([
    ['an arrow function', arrow],
    [
      'a function that is no guard class',
      function isAdmin(): boolean {
        return true;
      },
    ],
    ['a class without canActivate', Misnamed],
    ['an object without canActivate', { canactivate: () => true }],
  ])('refuses %s at forRoot(), naming `guard`', (_, guard) => {
    const error = (() => {
      try {
        StreamQueueDashboardModule.forRoot({ path: '/queues', guard: guard as unknown as CanActivate });
      } catch (e) {
        return e;
      }
    })() as InvalidOptionError;
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.option).toBe('guard');
  });

  it('takes a guard class and a guard instance', () => {
    class Admin implements CanActivate {
      canActivate(): boolean {
        return true;
      }
    }
    expect(() => StreamQueueDashboardModule.forRoot({ path: '/queues', guard: Admin })).not.toThrow();
    expect(() => StreamQueueDashboardModule.forRoot({ path: '/queues', guard: new Admin() })).not.toThrow();
  });
});
