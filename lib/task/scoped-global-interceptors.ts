import { Scope } from '@nestjs/common';
import { APP_INTERCEPTOR, type ModulesContainer } from '@nestjs/core';

/**
 * @internal The warning when the application has request-scoped or transient global
 * interceptors and some tasks run in an interceptor chain (`chained`, their Class.method), or
 * undefined. Nest applies such an APP_INTERCEPTOR within a request only, so it never wraps a run,
 * and nothing else would say so. Nest keeps them with its enhancers (a module's injectables),
 * under a token that starts with APP_INTERCEPTOR; static ones are providers and reach runs.
 */
export function scopedGlobalInterceptorsWarning(
  modules: ModulesContainer,
  chained: readonly string[],
): string | undefined {
  if (chained.length === 0) return undefined;
  const scoped: string[] = [];
  for (const module of modules.values()) {
    for (const [token, wrapper] of module.injectables) {
      if (typeof token !== 'string' || !token.startsWith(APP_INTERCEPTOR)) continue;
      if (wrapper.scope !== Scope.REQUEST && wrapper.scope !== Scope.TRANSIENT) continue;
      const name =
        wrapper.inject == null && typeof wrapper.metatype === 'function' ? wrapper.metatype.name : 'a factory';
      scoped.push(`${name} (${wrapper.scope === Scope.REQUEST ? 'request-scoped' : 'transient'}, in ${module.name})`);
    }
  }
  if (scoped.length === 0) return undefined;
  const tasks =
    chained.length > 3 ? `${chained.slice(0, 3).join(', ')} and ${chained.length - 3} more` : chained.join(', ');
  return `Global interceptors ${scoped.join(', ')} do not wrap task runs: Nest applies a request-scoped or transient APP_INTERCEPTOR within a request only. The tasks with interceptors (${tasks}) run without them; give an interceptor the default scope if runs need it.`;
}
