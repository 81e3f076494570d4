import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_FIELD_NAMES } from '../../lib/task/task-message';

/**
 * The worker reads a task by the field names in task-message.ts; the scripts copy a task by
 * their own list, includes/message.lua's TASK_FIELDS (a delayed member's promotion, the move into
 * admission, a wide entry's dead letter). A name the Lua list lacks is dropped where it copies:
 * a dead letter without fl, gr, pr and t was redriven outside its group and trace.
 */
describe('task field names: the Lua list matches task-message.ts', () => {
  it('TASK_FIELDS lists the same names in the same order', () => {
    const lua = readFileSync(join(__dirname, '../../lib/scripts/includes/message.lua'), 'utf8');
    const declared = /^local TASK_FIELDS = \{([^}]*)\}$/m.exec(lua);
    const names = declared?.[1].split(',').map((name) => name.trim().replace(/^'(.*)'$/, '$1'));
    expect(names).toEqual([...TASK_FIELD_NAMES]);
  });
});
