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

/**
 * @internal The names of options type T, each listed once as `name: true`: the compiler refuses a
 * list that misses one of T's names or adds another, so a new option cannot be refused as a typo.
 */
export function optionNames<T>(names: Record<keyof T, true>): readonly string[] {
  return Object.keys(names);
}
