import { Injectable, type CanActivate } from '@nestjs/common';

/** The guard the README's dashboard sample names; an application's own would check a session. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}
