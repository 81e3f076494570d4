import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_GROUP_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH } from '../../lib/task/task-message';

/**
 * The bounds a worker takes a task's id, name and group within live in task-message.ts; the
 * scripts that put a task into flow control's admission refuse what is past them with a copy in
 * includes/task-text.lua. A copy that drifts lets the room take a task the listing cannot page
 * over, or refuses one a worker would run: this fails first.
 */
describe('task text bounds: the Lua copy matches task-message.ts', () => {
  const scripts = join(__dirname, '../../lib/scripts');

  it('MAX_ID_LENGTH, MAX_NAME_LENGTH and MAX_GROUP_LENGTH are the same numbers', () => {
    const lua = readFileSync(join(scripts, 'includes/task-text.lua'), 'utf8');
    const declared = /^local MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_GROUP_LENGTH = (\d+), (\d+), (\d+)$/m.exec(lua);
    expect(declared?.slice(1).map(Number)).toEqual([MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_GROUP_LENGTH]);
  });

  /**
   * Every script that puts a task through admission (flowEnter) is an entrance of the waiting room:
   * each asks the shared check before, so a new entrance without it fails here first.
   */
  it('every script that calls flowEnter asks isRoomTaskText before', () => {
    const entrances = readdirSync(scripts)
      .filter((file) => file.endsWith('.lua'))
      .map((file) => [file, readFileSync(join(scripts, file), 'utf8')] as const)
      .filter(([, lua]) => lua.includes('flowEnter('));
    expect(entrances.map(([file]) => file).sort()).toEqual([
      'enqueue-flow.lua',
      'enter-admission.lua',
      'promote.lua',
      'redrive.lua',
    ]);
    const unchecked = entrances
      .filter(
        ([, lua]) =>
          !(
            lua.includes('-- @include task-text') &&
            lua.indexOf('isRoomTaskText(') >= 0 &&
            lua.indexOf('isRoomTaskText(') < lua.indexOf('flowEnter(')
          ),
      )
      .map(([file]) => file);
    expect(unchecked).toEqual([]);
  });
});
