// The dashboard page: plain DOM, no framework. Every value from Redis goes through textContent
// (never innerHTML): a payload holding HTML or script is shown as text, never run.
'use strict';

const POLL_MS = 1000;
const TABS = [
  ['running', 'Running'],
  ['queued', 'Queued'],
  ['delayed', 'Delayed'],
  ['dead', 'Dead letters'],
  ['keys', 'Keys'],
];
/**
 * What the page shows. `deadLetters`: the bound its dead-letter list last read with a first page
 * (the queue, how many, each partition's newest), what "Purge all" and "Redrive all" act on.
 */
const view = { queue: undefined, tab: 'running', cursor: undefined, deadLetters: undefined };

/**
 * What the page never shows raw: the CLI's rule (TERMINAL_UNSAFE, lib/terminal-unsafe.ts, put in
 * when the file is served), so both show a value alike. The C0 and C1 controls and DEL; Unicode's
 * invisible format characters (Cf): a bidirectional override or isolate (U+202A-U+202E,
 * U+2066-U+2069) reorders the rest of its text (an id "tropmer\u202e-nimda" reads
 * "tropmeradmin-"), a zero-width one hides text; the line and paragraph separators. Values are
 * written by anyone who can reach Redis.
 */
const UNSAFE = new RegExp('__TERMINAL_UNSAFE__', 'gu');

/** Text as the page shows it: each unsafe character as [U+XXXX], never applied. */
function shown(text) {
  return String(text).replace(UNSAFE, (c) => `[U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** An element with attributes and children; strings become text nodes (see shown; a title too). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false)
      node.setAttribute(name, name === 'title' ? shown(value) : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(shown(child)));
  }
  return node;
}

async function api(path, init) {
  const response = await fetch(`api/${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init && init.headers) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `${response.status} ${response.statusText}`);
  return body;
}

function say(text) {
  document.getElementById('message').textContent = shown(text);
}

const seconds = (ms) => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const q = (name) => encodeURIComponent(name);
/**
 * A key or task id as a path segment and its query part: a browser resolves a segment "." or
 * ".." (encoded or not) away before asking, so such a value goes in the query (`?key=`, `?id=`,
 * which the API reads first) under a placeholder segment.
 */
const DOTS = /^\.\.?$/;
const segment = (value) => (DOTS.test(value) ? '_' : q(value));
const inQuery = (name, value) => (DOTS.test(value) ? `${name}=${q(value)}` : '');
const withQuery = (path, ...parts) => {
  const query = parts.filter((part) => part !== '').join('&');
  return query === '' ? path : `${path}?${query}`;
};

/** A line chart of several series as an SVG (values scaled to the largest). */
function chart(title, series, samples) {
  const width = 300;
  const height = 70;
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const max = Math.max(1, ...series.flatMap((s) => samples.map(s.value).filter((v) => v !== null)));
  for (const s of series) {
    const points = samples
      .map((sample, i) => {
        const v = s.value(sample, i);
        if (v === null) return null;
        const x = samples.length < 2 ? 0 : (i / (samples.length - 1)) * width;
        return `${x.toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`;
      })
      .filter(Boolean);
    const line = document.createElementNS(svgNs, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', s.color);
    line.setAttribute('stroke-width', '1.5');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(line);
  }
  const legend = el(
    'div',
    { class: 'legend' },
    series.map((s) => [swatch(s.color), s.label]),
    ` (max ${Number.isInteger(max) ? max : max.toFixed(1)})`,
  );
  return el('div', { class: 'chart' }, el('h3', {}, title), svg, legend);
}

/** A colour swatch; set through CSSOM, which the page's CSP allows (a style attribute it does not). */
function swatch(color) {
  const node = el('i');
  node.style.background = color;
  return node;
}

/** Per-second rate between a sample and the one before it. */
function rate(samples, pick) {
  return (sample, i) => {
    if (i === 0) return null;
    const dt = (sample.t - samples[i - 1].t) / 1000;
    return dt > 0 ? pick(sample, samples[i - 1]) / dt : null;
  };
}

function queueCard(state, samples) {
  // A queue the server could not read comes with its error alone (the others are read as usual).
  if (state.error)
    return el(
      'article',
      { class: 'queue', 'data-queue': state.queue },
      el('h2', {}, state.queue),
      el('p', { class: 'error', 'data-error': state.error.code }, state.error.message),
    );
  const alive = state.consumers.filter((c) => c.alive).length;
  const stat = (name, value, label) =>
    el('div', { class: 'stat' }, el('b', { 'data-stat': name }, value), el('span', {}, label));
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return el(
    'article',
    { class: 'queue', 'data-queue': state.queue },
    el('h2', {}, state.queue, el('button', { type: 'button', onclick: () => select(state.queue) }, 'open')),
    el(
      'div',
      { class: 'stats' },
      stat('waiting', `${state.waiting}${state.waitingExact ? '' : '?'}`, 'waiting'),
      // Of those, the tasks in flow control's waiting room (shown only when some wait there).
      state.waitingForSlot > 0 ? stat('waitingForSlot', state.waitingForSlot, 'of them for a slot or token') : null,
      stat('running', state.running, 'running'),
      stat('delayed', state.delayed, 'delayed'),
      stat('dead', state.deadLettered, 'dead letters'),
      stat('oldest', seconds(state.oldestWaitingMs), 'oldest waiting'),
      // A group of more than 1000 consumers is not listed (README, "Operating it"): only counted.
      state.unlistedConsumers > 0
        ? stat('consumers', `?/${state.consumers.length + state.unlistedConsumers}`, 'workers alive (too many to list)')
        : stat('consumers', `${alive}/${state.consumers.length}`, 'workers alive'),
    ),
    el(
      'div',
      { class: 'charts' },
      chart(
        'Depth',
        [
          { label: 'waiting', color: css('--waiting'), value: (s) => s.waiting },
          { label: 'running', color: css('--running'), value: (s) => s.running },
          { label: 'delayed', color: css('--delayed'), value: (s) => s.delayed },
        ],
        samples,
      ),
      chart(
        'Rates (per second)',
        [
          { label: 'in', color: css('--waiting'), value: rate(samples, (s, p) => Math.max(0, s.added - p.added)) },
          { label: 'done', color: css('--running'), value: rate(samples, (s) => s.completed) },
          { label: 'failed', color: css('--dead'), value: rate(samples, (s) => s.failed) },
        ],
        samples,
      ),
      chart(
        'Lag (oldest waiting, s)',
        [
          {
            label: 'lag',
            color: css('--delayed'),
            value: (s) => (s.oldestWaitingMs === null ? 0 : s.oldestWaitingMs / 1000),
          },
        ],
        samples,
      ),
    ),
  );
}

async function refresh() {
  try {
    const overview = await api('overview');
    const queues = document.getElementById('queues');
    queues.replaceChildren(...overview.queues.map((s) => queueCard(s, overview.history[s.queue] || [])));
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (view.queue === undefined && overview.queues.length > 0) select(overview.queues[0].queue);
    else if (view.queue !== undefined && view.tab !== 'keys' && view.cursor === undefined) await loadList();
  } catch (error) {
    document.getElementById('updated').textContent = shown(`error: ${error.message}`);
  }
}

function select(queue) {
  view.queue = queue;
  view.cursor = undefined;
  view.deadLetters = undefined;
  document.getElementById('detail').hidden = false;
  document.getElementById('detail-title').textContent = `Queue ${queue}`;
  renderTabs();
  void loadList();
}

function renderTabs() {
  document.getElementById('tabs').replaceChildren(
    ...TABS.map(([tab, label]) =>
      el(
        'button',
        {
          type: 'button',
          role: 'tab',
          'data-tab': tab,
          'aria-selected': view.tab === tab ? 'true' : 'false',
          onclick: () => {
            view.tab = tab;
            view.cursor = undefined;
            view.deadLetters = undefined;
            renderTabs();
            void loadList();
          },
        },
        label,
      ),
    ),
  );
  renderActions();
}

async function act(what, work) {
  try {
    const result = await work();
    say(`${what}: done ${JSON.stringify(result)}`);
  } catch (error) {
    say(`${what}: ${error.message}`);
  }
  await refresh();
  await loadList();
}

/**
 * Asks about, then acts on, the dead letters the list last counted (view.deadLetters), naming how
 * many: one dead-lettered since was never shown, and the server leaves it (it takes the bound).
 */
function allDeadLetters(verb, what, send) {
  const bound = view.deadLetters;
  if (!bound || bound.queue !== view.queue) return say(`${what}: the list is not read yet`);
  if (bound.count === 0) return say(`${what}: no dead letters were listed`);
  const count = `${bound.count} dead letter${bound.count === 1 ? '' : 's'}`;
  if (confirm(shown(`${verb} all ${count} of queue ${view.queue}?`))) void act(what, () => send(bound.upTo));
}

function renderActions() {
  const actions = document.getElementById('actions');
  const queue = q(view.queue);
  if (view.tab === 'dead') {
    actions.replaceChildren(
      el(
        'button',
        {
          type: 'button',
          'data-action': 'redrive-all',
          onclick: () =>
            allDeadLetters('Redrive', 'redrive all', (upTo) =>
              api(`queues/${queue}/dead-letters/redrive-all`, { method: 'POST', body: JSON.stringify({ upTo }) }),
            ),
        },
        'Redrive all',
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-action': 'purge-all',
          onclick: () =>
            allDeadLetters('Purge', 'purge all', (upTo) =>
              api(`queues/${queue}/dead-letters/purge`, { method: 'POST', body: JSON.stringify({ all: true, upTo }) }),
            ),
        },
        'Purge all',
      ),
    );
  } else if (view.tab === 'keys') {
    const key = el('input', { placeholder: 'key', 'aria-label': 'key', id: 'key-input' });
    const name = el('input', { placeholder: 'task name (replace)', 'aria-label': 'task name', id: 'key-name' });
    const payload = el('textarea', {
      placeholder: 'payload JSON (replace)',
      rows: 1,
      cols: 30,
      'aria-label': 'payload',
      id: 'key-payload',
    });
    const keyPath = (action) =>
      withQuery(`queues/${queue}/keys/${segment(key.value)}/${action}`, inQuery('key', key.value));
    actions.replaceChildren(
      key,
      el(
        'button',
        {
          type: 'button',
          class: 'danger',
          onclick: () =>
            confirm(shown(`Cancel key ${key.value} of queue ${view.queue}?`)) &&
            act('cancel', () => api(keyPath('cancel'), { method: 'POST' })),
        },
        'Cancel key',
      ),
      name,
      payload,
      el(
        'button',
        {
          type: 'button',
          onclick: () => {
            let parsed;
            try {
              parsed = payload.value.trim() === '' ? null : JSON.parse(payload.value);
            } catch {
              return say('payload: not valid JSON');
            }
            if (confirm(shown(`Replace key ${key.value} of queue ${view.queue}?`)))
              void act('replace', () =>
                api(keyPath('replace'), {
                  method: 'POST',
                  body: JSON.stringify({ name: name.value, payload: parsed }),
                }),
              );
          },
        },
        'Replace key',
      ),
    );
  } else actions.replaceChildren();
}

const COLUMNS = {
  running: ['Task', 'ID', 'Key', 'Worker', 'Deliveries', 'Idle', 'Payload'],
  queued: ['Task', 'ID', 'Key', 'Enqueued', 'Attempt', 'Payload'],
  delayed: ['Task', 'ID', 'Key', 'Due', 'Attempt', 'Payload'],
  dead: ['Task', 'ID', 'Key', 'Failed', 'Reason', 'Payload'],
};

/** A listed task's name and id, as a row's question names it (either may be missing). */
const nameAndId = (task) => [task.name, task.id].filter((v) => v !== undefined && v !== null && v !== '').join(' ');

/**
 * A dead letter as its row's question names it: the list re-renders every second, newest first,
 * so a click may land on another row than the one aimed at; the question says which it is.
 */
function deadLetterText(task) {
  const what = nameAndId(task);
  return `dead letter ${task.deadLetterId}${what ? ` (${what})` : ''} of queue ${view.queue}`;
}

function row(task) {
  const queue = q(view.queue);
  const inspect = el(
    'button',
    { type: 'button', 'data-action': 'inspect', onclick: () => inspectTask(task) },
    'inspect',
  );
  const cells = {
    running: () => [
      el(
        'span',
        { class: task.workerAlive ? 'alive' : 'dead-worker' },
        task.worker,
        task.workerAlive ? ' (alive)' : ' (dead)',
      ),
      task.deliveries,
      seconds(task.idleMs),
    ],
    queued: () => [time(task.at), task.attempt],
    delayed: () => [time(task.dueAt), task.attempt],
    dead: () => [time(task.at), task.reason],
  }[view.tab]();
  const buttons = [inspect];
  if (view.tab === 'dead') {
    buttons.push(
      el(
        'button',
        {
          type: 'button',
          'data-action': 'redrive',
          onclick: () =>
            confirm(shown(`Redrive ${deadLetterText(task)}?`)) &&
            act('redrive', () =>
              api(`queues/${queue}/dead-letters/${task.deadLetterId}/redrive?partition=${task.partition}`, {
                method: 'POST',
              }),
            ),
        },
        'redrive',
      ),
      el(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-action': 'purge',
          onclick: () =>
            confirm(shown(`Purge ${deadLetterText(task)}?`)) &&
            act('purge', () =>
              api(`queues/${queue}/dead-letters/purge`, {
                method: 'POST',
                body: JSON.stringify({ ids: [task.deadLetterId], partition: task.partition }),
              }),
            ),
        },
        'purge',
      ),
    );
  }
  if ((view.tab === 'queued' || view.tab === 'delayed') && task.id) {
    buttons.push(
      el(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-action': 'remove',
          onclick: () =>
            confirm(shown(`Remove task ${nameAndId(task)} of queue ${view.queue}?`)) &&
            act('remove', () =>
              api(withQuery(`queues/${queue}/tasks/${segment(task.id)}`, inQuery('id', task.id)), { method: 'DELETE' }),
            ),
        },
        'remove',
      ),
    );
  }
  return el(
    'tr',
    { 'data-id': task.id || '' },
    el('td', {}, task.name),
    el('td', {}, task.id),
    el('td', {}, task.key),
    cells.map((cell) => el('td', {}, cell)),
    el('td', { class: 'payload', title: task.payload }, task.payload),
    el('td', {}, buttons),
  );
}

async function loadList() {
  const list = document.getElementById('list');
  const more = document.getElementById('more');
  if (view.tab === 'keys') {
    list.replaceChildren(
      el(
        'p',
        { class: 'muted' },
        'Cancel the live run of a key, or replace it with a new run (its older runs are superseded).',
      ),
    );
    more.replaceChildren();
    return;
  }
  const { tab, queue } = view;
  try {
    const cursor = view.cursor ? `&cursor=${q(view.cursor)}` : '';
    const page = await api(`queues/${q(queue)}/tasks?state=${tab}&limit=50${cursor}`);
    if (tab !== view.tab || queue !== view.queue) return;
    // A first page comes with its bound (a later page keeps the first's: it shows older ones).
    if (page.deadLetters) view.deadLetters = { queue, ...page.deadLetters };
    const head = el(
      'tr',
      {},
      COLUMNS[tab].map((c) => el('th', {}, c)),
      el('th', {}, ''),
    );
    list.replaceChildren(
      page.tasks.length === 0
        ? el('p', { class: 'muted' }, 'Nothing here.')
        : el('table', { 'data-list': tab }, el('thead', {}, head), el('tbody', {}, page.tasks.map(row))),
    );
    more.replaceChildren(
      view.cursor
        ? el('button', { type: 'button', onclick: () => ((view.cursor = undefined), loadList()) }, 'first page')
        : '',
      page.cursor
        ? el('button', { type: 'button', onclick: () => ((view.cursor = page.cursor), loadList()) }, 'next page')
        : '',
    );
  } catch (error) {
    list.replaceChildren(el('p', {}, error.message));
  }
}

/** A key status as "state (generation g, attempt a)", leaving out a number it does not hold. */
function keyStatusText(status) {
  const numbers = [
    status.generation === undefined ? undefined : `generation ${status.generation}`,
    status.attempt === undefined ? undefined : `attempt ${status.attempt}`,
  ].filter(Boolean);
  return numbers.length > 0 ? `${status.state} (${numbers.join(', ')})` : status.state;
}

async function inspectTask(task) {
  const panel = document.getElementById('inspect');
  panel.hidden = false;
  document.getElementById('inspect-id').textContent = shown(task.id || task.deadLetterId || '');
  const fields = document.getElementById('inspect-fields');
  let found = { task, result: null, status: null };
  if (task.id) {
    try {
      found = await api(
        withQuery(
          `queues/${q(view.queue)}/tasks/${segment(task.id)}`,
          `partition=${task.partition}`,
          inQuery('id', task.id),
        ),
      );
    } catch (error) {
      say(error.message);
    }
  }
  const t = found.task || task;
  const status = found.status;
  // A task in flow control's waiting room is queued but not in the stream: it waits for its slot
  // or rate token, in its (task, group) pair, by priority, since it entered the room (`at`).
  const room = t.waitingForSlot === true;
  const pairs = [
    ['name', t.name],
    ['where', room ? 'waiting for a slot or a rate token (flow control)' : t.state],
    ['group', room ? (t.group ?? '(none)') : t.group],
    ['priority', t.priority],
    ['in the room since', room && t.at ? new Date(t.at).toLocaleString() : undefined],
    ['key', t.key],
    ['generation', t.generation],
    ['attempt', t.attempt],
    ['worker', t.worker],
    ['reason', t.reason],
    ['key status', status && keyStatusText(status)],
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
  fields.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  document.getElementById('inspect-payload').textContent = pretty(t.payload);
  // Pending: a retry, redrive or move into admission waits for its run, which stores the result.
  document.getElementById('inspect-result').textContent = found.pending
    ? '(none yet: a later run is pending)'
    : found.result === null
      ? '(none stored)'
      : pretty(found.result);
}

/**
 * JSON text indented, as shown (see shown): its own line breaks are the only ones kept, since
 * JSON.stringify escapes every C0 control inside its strings. Text that is no JSON is shown whole.
 */
function pretty(json) {
  if (json === undefined || json === null) return '';
  let indented;
  try {
    indented = JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return shown(json);
  }
  return indented.split('\n').map(shown).join('\n');
}

document.getElementById('inspect-close').addEventListener('click', () => {
  document.getElementById('inspect').hidden = true;
});
void refresh();
setInterval(refresh, POLL_MS);
