import { InvalidOptionError } from '../../lib';

/** The InvalidOptionError `call` rejects with; fails the spec when it resolves or rejects otherwise. */
export async function optionRefusal(call: Promise<unknown>): Promise<InvalidOptionError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}
