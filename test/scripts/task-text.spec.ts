import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isName } from '../../lib/task/resolved-task-options';
import { MAX_GROUP_LENGTH, MAX_ID_LENGTH } from '../../lib/task/task-message';
import { closeAll, createRedis } from '../utils/redis';

/**
 * includes/task-text.lua decides in the scripts what the TypeScript side decides with isName
 * (checkName) and the bounds of task-message.ts: run both over the same texts, so the two rules
 * cannot drift apart unseen (a name, an id or a group at, past and around each bound).
 */
describe('task-text.lua agrees with the TypeScript checks', () => {
  const redis = createRedis();
  afterAll(closeAll);

  const includes = join(__dirname, '../../lib/scripts/includes');
  const source = ['utf8-text', 'task-text']
    .map((name) => readFileSync(join(includes, `${name}.lua`), 'utf8').replace(/^-- @include .*$/gm, ''))
    .join('\n');
  const roomTaskText = async (id: string, name: string, group: string) =>
    (await redis.eval(`${source}\nreturn isRoomTaskText(ARGV[1], ARGV[2], ARGV[3]) and 1 or 0`, 0, id, name, group)) ===
    1;

  const names = [
    'job',
    'a.b:c-d_e',
    'A9',
    '',
    'x'.repeat(128),
    'x'.repeat(129),
    'é',
    'a b',
    '\0arrivals',
    'a{b}',
    '\u0003x',
  ];
  it.each(names.map((name) => [JSON.stringify(name).slice(0, 40), name]))('name %s', async (_, name) => {
    expect(await roomTaskText('id', name, '')).toBe(isName(name));
  });

  const texts = [
    '',
    'x',
    'é'.repeat(256),
    'é'.repeat(257),
    '😀'.repeat(128),
    '😀'.repeat(129),
    'x'.repeat(256),
    'x'.repeat(257),
  ];
  it.each(texts.map((text) => [`${text.slice(0, 4)}… (${text.length} UTF-16 code units)`, text]))(
    'id and group %s',
    async (_, text) => {
      expect({ id: await roomTaskText(text, 'job', ''), group: await roomTaskText('id', 'job', text) }).toEqual({
        id: text.length > 0 && text.length <= MAX_ID_LENGTH,
        group: text.length <= MAX_GROUP_LENGTH,
      });
    },
  );
});
