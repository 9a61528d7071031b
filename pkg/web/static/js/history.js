// A task's history: its audit trail, oldest first, who made each change,
// and each change of a field as before → after.

import { $, h } from './dom.js';
import { api, ApiError } from './api.js';
import { formatLocal } from './time.js';

const kinds = {
  'dev.taskflow.task.created': 'Created', 'dev.taskflow.task.updated': 'Changed',
  'dev.taskflow.task.completed': 'Completed', 'dev.taskflow.task.skipped': 'Skipped',
  'dev.taskflow.task.deleted': 'Deleted',
};
// Who made a change, from the entry's actor (null for an entry recorded
// before TaskFlow kept it, or a source it does not know: then nothing is said).
const actors = { user: 'You', agent: 'An agent (MCP)', recurrence: 'Repeats (next occurrence)' };
const isInstant = (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v);

function show(v) {
  if (v === null || v === undefined || v === '') return 'none';
  if (Array.isArray(v)) return v.length ? v.map(show).join(', ') : 'none';
  if (isInstant(v)) return formatLocal(v);
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`).join('; ');
  return String(v);
}

export function initHistory() {
  $('history-close').addEventListener('click', () => $('history').close());
}

export async function openHistory(task, returnFocus) {
  const dlg = $('history');
  const list = $('history-list');
  $('history-task').textContent = task.title;
  $('history-status').textContent = 'Loading…';
  list.replaceChildren();
  dlg.addEventListener('close', () => returnFocus && returnFocus.focus(), { once: true });
  dlg.showModal();
  $('history-close').focus();
  try {
    const { data } = await api('GET', `/api/tasks/${encodeURIComponent(task.id)}/history`);
    const items = (data && data.items) || [];
    list.replaceChildren(...items.map((it) => {
      const changes = Object.entries(it.changes || {}).filter(([f]) => f !== 'version');
      const who = Object.hasOwn(actors, it.actor) ? actors[it.actor] : '';
      return h('li', {},
        h('span', { class: 'what' }, kinds[it.type] || it.type), ' · ',
        who ? [h('span', { class: 'who' }, who), ' · '] : '',
        h('time', { datetime: it.time }, formatLocal(it.time)),
        changes.length ? h('ul', { class: 'changes' }, changes.map(([field, c]) =>
          h('li', {}, h('span', { class: 'field' }, field.replaceAll('_', ' ')), ': ', show(c.from), ' → ', show(c.to))))
          : '');
    }));
    $('history-status').textContent = items.length ? '' : 'No history yet: it appears a moment after a change.';
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $('history-status').textContent = err.message;
  }
}
