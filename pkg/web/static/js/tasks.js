// The task list: the view (filters, sort, search) kept in the URL, keyset
// pages loaded as the person scrolls, and changes from elsewhere applied by
// asking the server again (so the list always agrees with the API's own
// filtering, sorting and search).

import { $, h, announce, showMessage } from './dom.js';
import { api, query, ApiError, isUnavailable } from './api.js';
import { toLocalInput, fromLocalInput, formatLocal, isDate, todayLocal, formatDate } from './time.js';

const PAGE = 50;

// controls: each filter's input and its URL (and API) parameter.
const controls = [
  ['f-search', 'q'], ['f-status', 'status'], ['f-priority', 'priority'], ['f-tags', 'tags'],
  ['f-tagmode', 'tag_mode'], ['f-after', 'due_after'], ['f-before', 'due_before'], ['f-overdue', 'overdue'],
  ['f-sort', 'sort'], ['f-order', 'order'],
];
const defaults = { tag_mode: 'any', order: 'asc' };

const state = {
  order: [], // task ids as listed
  tasks: new Map(),
  nodes: new Map(), // id -> li
  cursor: null,
  loading: false,
  generation: 0,
  tagColors: new Map(),
};
let actions = {};

// view reads the filters as URL parameters (dates as UTC instants).
export function view() {
  const v = {};
  for (const [id, param] of controls) {
    const el = $(id);
    let value = el.type === 'checkbox' ? (el.checked ? 'true' : '') : el.value.trim();
    if (el.type === 'datetime-local') value = value ? fromLocalInput(value) : '';
    if (param === 'tags') value = value.split(',').map((t) => t.trim()).filter(Boolean).join(',');
    if (value && value !== defaults[param]) v[param] = value;
  }
  return v;
}

function applyURL() {
  const params = new URLSearchParams(location.search);
  for (const [id, param] of controls) {
    const el = $(id);
    const value = params.get(param) || '';
    if (el.type === 'checkbox') el.checked = value === 'true';
    else if (el.type === 'datetime-local') el.value = toLocalInput(value);
    else if (el.tagName === 'SELECT') {
      el.value = value || defaults[param] || '';
      if (el.selectedIndex < 0) el.selectedIndex = 0;
    } else el.value = value;
  }
}

function writeURL() {
  const q = query(view());
  if (q !== location.search) history.replaceState(null, '', location.pathname + q);
}

function listPath(extra) {
  const v = view();
  const params = { ...v, ...extra };
  delete params.q;
  return (v.q ? '/api/tasks/search' + query({ q: v.q, ...params }) : '/api/tasks' + query(params));
}

// initList wires the filters and the list; handlers are the item buttons.
export function initList(handlers) {
  actions = handlers;
  applyURL();
  let typing;
  for (const [id, param] of controls) {
    const el = $(id);
    const changed = () => { writeURL(); reload(); };
    if (param === 'q' || param === 'tags') {
      el.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(changed, 250); });
    } else el.addEventListener('change', changed);
  }
  window.addEventListener('popstate', () => { applyURL(); reload(); });
  $('more').addEventListener('click', () => loadMore());
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: '400px' });
  io.observe($('more-row'));
  // Overdue marks follow the clock.
  setInterval(() => { for (const id of state.order) update(state.nodes.get(id), state.tasks.get(id)); }, 60000);
}

// reload lists the first page of the current view.
export async function reload() {
  await fetchList(PAGE, true);
}

// refresh asks again for everything listed so far (a change elsewhere).
export async function refresh() {
  await fetchList(Math.min(500, Math.max(PAGE, state.order.length)), true);
}

export async function loadMore() {
  if (!state.cursor || state.loading) return;
  await fetchList(PAGE, false);
}

async function fetchList(limit, replace) {
  const gen = ++state.generation;
  state.loading = true;
  const status = $('list-status');
  if (replace && !state.order.length) status.textContent = 'Loading tasks…';
  try {
    const { data } = await api('GET', listPath({ limit, cursor: replace ? '' : state.cursor }));
    if (gen !== state.generation) return;
    showMessage($('filter-error'), '');
    showMessage($('list-error'), '');
    const items = (data && data.items) || [];
    render(replace ? items : [...state.order.map((id) => state.tasks.get(id)), ...items]);
    state.cursor = data && data.next_cursor;
    $('more').hidden = !state.cursor;
    status.textContent = state.order.length ?
      `${state.order.length}${state.cursor ? '+' : ''} ${state.order.length === 1 && !state.cursor ? 'task' : 'tasks'}` :
      (Object.keys(view()).length ? 'No tasks match this view.' : 'No tasks yet. Add one above.');
  } catch (err) {
    if (gen !== state.generation || !(err instanceof ApiError)) return;
    if (err.status === 400) {
      const fields = Object.entries(err.fields || {}).map(([k, m]) => `${k}: ${m}`).join('; ');
      showMessage($('filter-error'), `This view cannot be shown: ${fields || err.message}`);
    } else if (!isUnavailable(err) && err.status !== 401) {
      showMessage($('list-error'), err.message);
    }
    status.textContent = isUnavailable(err) ? 'Tasks will load when TaskFlow is back.' : '';
  } finally {
    if (gen === state.generation) {
      state.loading = false;
      moreIfVisible();
    }
  }
}

// moreIfVisible loads the next page when the end of the list is in view
// after a render (the observer only reports changes of visibility).
function moreIfVisible() {
  if (!state.cursor || $('app').hidden) return;
  if ($('more-row').getBoundingClientRect().top < window.innerHeight + 400) setTimeout(loadMore, 0);
}

// render makes the list show items in order, reusing each task's node so
// that focus and scroll stay where they are.
function render(items) {
  const list = $('tasks');
  const seen = new Set();
  let prev = null;
  state.order = [];
  for (const t of items) {
    if (!t || seen.has(t.id)) continue;
    seen.add(t.id);
    state.order.push(t.id);
    state.tasks.set(t.id, t);
    let li = state.nodes.get(t.id);
    if (!li) {
      li = build(t);
      state.nodes.set(t.id, li);
    }
    update(li, t);
    const want = prev ? prev.nextSibling : list.firstChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
  }
  for (const [id, li] of state.nodes) {
    if (!seen.has(id)) {
      li.remove();
      state.nodes.delete(id);
      state.tasks.delete(id);
    }
  }
}

export function setTagColors(tags) {
  state.tagColors = new Map(tags.map((t) => [t.name.toLowerCase(), t.color]));
}

function build(t) {
  const titleId = 't-' + t.id;
  const check = h('input', { type: 'checkbox', 'aria-label': 'Completed', 'aria-describedby': titleId });
  check.addEventListener('change', () => toggle(t.id, check));
  const li = h('li', { class: 'task', 'data-id': t.id },
    check,
    h('div', { class: 'body' }, h('span', { class: 'title', id: titleId }), h('div', { class: 'meta' })),
    h('div', { class: 'item-actions' },
      h('button', { type: 'button', 'aria-describedby': titleId, onclick: () => actions.edit(t.id) }, 'Edit'),
      // An active occurrence of a series: skip it, or make it the last.
      h('button', { type: 'button', class: 'series-only', 'aria-describedby': titleId,
        onclick: () => seriesStep(t.id, 'skip') }, 'Skip'),
      h('button', { type: 'button', class: 'series-only', 'aria-describedby': titleId,
        onclick: () => seriesStep(t.id, 'end-series') }, 'End series'),
      h('button', { type: 'button', 'aria-describedby': titleId, onclick: () => actions.history(state.tasks.get(t.id)) },
        'History'),
      h('button', { type: 'button', class: 'danger', 'aria-describedby': titleId,
        onclick: () => actions.remove(state.tasks.get(t.id)) }, 'Delete')));
  return li;
}

function update(li, t) {
  if (!li || !t) return;
  const done = t.status === 'completed' || t.status === 'skipped';
  for (const b of li.querySelectorAll('.series-only')) b.hidden = !(t.is_recurring && t.status === 'active');
  const check = li.querySelector('input[type=checkbox]');
  check.checked = done;
  li.classList.toggle('done', done);
  li.querySelector('.title').textContent = t.title;
  const meta = li.querySelector('.meta');
  const parts = [h('span', { class: 'prio prio-' + t.priority }, t.priority)];
  for (const tag of t.tags || []) {
    const chip = h('span', { class: 'tag' }, tag);
    const color = state.tagColors.get(tag.toLowerCase());
    if (color && /^#[0-9a-f]{3,8}$/i.test(color)) chip.style.setProperty('--tag', color);
    parts.push(chip);
  }
  if (isDate(t.due_date)) { // all-day: the date alone; overdue once the day is over
    const overdue = !done && t.due_date < todayLocal();
    parts.push(h('span', { class: overdue ? 'due overdue' : 'due' }, 'Due ',
      h('time', { datetime: t.due_date }, formatDate(t.due_date)), ' · All day', overdue ? ' · Overdue' : ''));
  } else if (t.due_date) {
    const overdue = !done && new Date(t.due_date) < new Date();
    parts.push(h('span', { class: overdue ? 'due overdue' : 'due' }, 'Due ',
      h('time', { datetime: t.due_date }, formatLocal(t.due_date, false)), overdue ? ' · Overdue' : ''));
  }
  if (t.is_recurring) parts.push(h('span', { class: 'mark', title: 'Repeats' }, '↻ Repeats'));
  if (t.status === 'skipped') parts.push(h('span', { class: 'mark' }, 'Skipped'));
  if (t.reminder_time) {
    parts.push(h('span', { class: 'mark', title: 'Reminder' }, 'Reminder ',
      h('time', { datetime: t.reminder_time }, formatLocal(t.reminder_time, false))));
  }
  meta.replaceChildren(...parts);
}

async function toggle(id, check) {
  const want = check.checked;
  check.disabled = true;
  showMessage($('list-error'), '');
  try {
    const { data } = want ? await api('PATCH', `/api/tasks/${encodeURIComponent(id)}/complete`) :
      await api('PATCH', `/api/tasks/${encodeURIComponent(id)}`, { status: 'active' });
    if (data) upsert(data);
    announce(want ? `Completed ${data ? data.title : ''}` : `Reopened ${data ? data.title : ''}`);
  } catch (err) {
    check.checked = !want;
    if (err instanceof ApiError) showMessage($('list-error'), err.message);
  } finally {
    check.disabled = false;
  }
}

// seriesStep skips an occurrence (step "skip") or ends its series
// ("end-series") and says so.
async function seriesStep(id, step) {
  showMessage($('list-error'), '');
  try {
    const { data } = await api('POST', `/api/tasks/${encodeURIComponent(id)}/${step}`);
    if (data) upsert(data);
    announce(step === 'skip' ? `Skipped ${data ? data.title : ''}` : `Ended the series of ${data ? data.title : ''}`);
  } catch (err) {
    if (err instanceof ApiError) showMessage($('list-error'), err.message);
  }
}

// upsert shows a task the server just returned, then lets the server say
// whether it still belongs to this view.
export function upsert(t) {
  if (state.nodes.has(t.id)) {
    state.tasks.set(t.id, t);
    update(state.nodes.get(t.id), t);
  }
  scheduleRefresh();
}

export function removeTask(id) {
  const li = state.nodes.get(id);
  if (!li) return;
  const next = li.nextElementSibling || li.previousElementSibling;
  const hadFocus = li.contains(document.activeElement);
  li.remove();
  state.nodes.delete(id);
  state.tasks.delete(id);
  state.order = state.order.filter((x) => x !== id);
  if (hadFocus) (next ? next.querySelector('input') : $('new-title')).focus();
}

let refreshTimer = null;
// scheduleRefresh coalesces bursts of changes into one request.
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 120);
}

// applyChange takes one message of the live stream.
export function applyChange(msg) {
  if (!msg || !msg.task) return;
  if (msg.type === 'deleted') removeTask(msg.task.id);
  else if (state.nodes.has(msg.task.id)) {
    state.tasks.set(msg.task.id, msg.task);
    update(state.nodes.get(msg.task.id), msg.task);
  }
  scheduleRefresh();
}

export function resetList() {
  state.generation++;
  state.order = [];
  state.tasks.clear();
  state.nodes.clear();
  state.cursor = null;
  $('tasks').replaceChildren();
  $('list-status').textContent = '';
}

export function taskById(id) { return state.tasks.get(id); }
