import { InvalidOptionError } from './errors';

/**
 * @internal Refuses a name `known` does not list: a misspelled option (`concurency`) is read by
 * nobody, so the default would run silently in its place. `path` prefixes the name in the error
 * (`queues.mail.`, `@Task('x').backoff.`).
 */
export function checkOptionNames(path: string, source: object, known: readonly string[]): void {
  const unknown = Object.keys(source).find((name) => !known.includes(name));
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      path + unknown,
      `one of the names ${known.join(', ')}`,
      (source as Record<string, unknown>)[unknown],
    );
  }
}
