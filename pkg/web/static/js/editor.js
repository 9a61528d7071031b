// The task editor: every field of a task, the recurrence as fields or a raw
// RRULE, and the next occurrences as the server computes them
// (POST /api/recurrence/preview). A save sends the version the editor was
// opened with (If-Match), so a change made elsewhere in between is reported
// instead of overwritten.

import { $, h, fieldError, showMessage, announce } from './dom.js';
import { api, ApiError, isUnavailable } from './api.js';
import { browserZone, zones, toLocalInput, fromLocalInput, formatLocal, formatIn, isDate, formatDate } from './time.js';

const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
  'November', 'December'];

// fields maps the API's field names (as in its error bodies) to the
// editor's input and the element its error is shown in.
const fieldMap = {
  title: ['e-title', 'e-title-error'],
  description: ['e-description', 'e-description-error'],
  priority: ['e-priority', 'e-priority-error'],
  tags: ['e-tags', 'e-tags-error'],
  due_date: ['e-due', 'e-due-error'],
  reminder_time: ['e-reminder', 'e-reminder-error'],
  reminders: ['e-before', 'e-reminder-error'],
  is_recurring: ['e-repeats', 'e-repeats-error'],
  recurrence_pattern: ['e-repeats', 'e-repeats-error'],
  'recurrence_pattern.frequency': ['e-repeats', 'e-repeats-error'],
  'recurrence_pattern.interval': ['e-interval', 'e-interval-error'],
  'recurrence_pattern.days_of_week': ['e-wd-1', 'e-weekdays-error'],
  'recurrence_pattern.day_of_month': ['e-dom', 'e-dom-error'],
  'recurrence_pattern.month': ['e-month', 'e-month-error'],
  'recurrence_pattern.end_date': ['e-enddate', 'e-enddate-error'],
  'recurrence_pattern.occurrences': ['e-count', 'e-count-error'],
  'recurrence_pattern.timezone': ['e-tz', 'e-tz-error'],
  'recurrence_pattern.rrule': ['e-rrule', 'e-rrule-error'],
  'recurrence_pattern.repeat_from': ['e-repeat-from', 'e-repeat-from-error'],
};

const ed = { id: null, etag: null, onSaved: () => {}, tags: [], previewSeq: 0, previewTimer: null, abort: null };

function fieldFor(key) {
  // tags[3], tags.3, recurrence_pattern.days_of_week[0] -> their field
  const k = key.replace(/\[\d+\]$/, '').replace(/\.\d+$/, '');
  return fieldMap[k] || (k.startsWith('recurrence_pattern') ? fieldMap.recurrence_pattern : null);
}

function clearErrors() {
  for (const [input, err] of Object.values(fieldMap)) fieldError($(input), $(err), '');
  showMessage($('editor-error'), '');
  $('editor-conflict').hidden = true;
}

// showErrors puts each field error next to its field; returns whether any
// was placed, and says the rest in the editor's alert.
function showErrors(fields, fallback) {
  const placed = new Map();
  const rest = [];
  for (const [key, msg] of Object.entries(fields || {})) {
    const f = fieldFor(key);
    if (!f) { rest.push(`${key}: ${msg}`); continue; }
    const text = placed.has(f[1]) ? placed.get(f[1]) + '; ' + msg : msg;
    placed.set(f[1], text);
    fieldError($(f[0]), $(f[1]), text);
  }
  if (rest.length || (!placed.size && fallback)) showMessage($('editor-error'), rest.join('; ') || fallback);
  return placed;
}

export function initEditor() {
  const tz = $('e-tz');
  for (const z of zones()) tz.append(h('option', { value: z }, z));
  const month = $('e-month');
  month.append(h('option', { value: '' }, 'Same as the due date'));
  months.forEach((m, i) => month.append(h('option', { value: String(i + 1) }, m)));
  $('e-zone-note').textContent = `Times are in your time zone (${browserZone()}).`;

  const form = $('editor-form');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); save(); });
  $('e-cancel').addEventListener('click', close);
  $('editor').addEventListener('cancel', (ev) => { ev.preventDefault(); close(); });
  $('editor-reload').addEventListener('click', () => open(ed.id, ed.onSaved));
  form.addEventListener('input', onEdit);
  form.addEventListener('change', onEdit);
  $('e-lastday').addEventListener('change', () => { $('e-dom').disabled = $('e-lastday').checked; });
  $('e-allday').addEventListener('change', () => {
    const v = $('e-due').value;
    setAllDay($('e-allday').checked);
    $('e-due').value = $('e-allday').checked ? v.slice(0, 10) : (v ? v.slice(0, 10) + 'T09:00' : '');
  });
  $('e-tags').addEventListener('input', suggest);
  $('e-tags').addEventListener('focus', suggest);
}

function onEdit(ev) {
  if (ev.target.id === 'e-repeats' || ev.target.id === 'e-ends') layout();
  if (ev.target.id === 'e-repeats' && $('e-repeats').value && !$('e-tz').dataset.touched) {
    $('e-tz').value = $('e-tz').value || browserZone();
  }
  if (ev.target.id === 'e-tz') $('e-tz').dataset.touched = '1';
  schedulePreview();
}

// layout shows the recurrence fields the chosen frequency and end use.
function layout() {
  const freq = $('e-repeats').value;
  $('rec-fields').hidden = !freq;
  $('rec-simple').hidden = !freq || freq === 'rrule';
  $('rec-rrule').hidden = freq !== 'rrule';
  $('rec-weekdays').hidden = freq !== 'weekly';
  $('rec-dom').hidden = freq !== 'monthly' && freq !== 'yearly';
  $('rec-month').hidden = freq !== 'yearly';
  $('e-interval-unit').textContent = { daily: 'day(s)', weekly: 'week(s)', monthly: 'month(s)', yearly: 'year(s)' }[freq] || '';
  const ends = $('e-ends').value;
  $('rec-enddate').hidden = ends !== 'date';
  $('rec-count').hidden = ends !== 'count';
}

// open edits task id (null: a new task); onSaved gets the saved task.
export async function open(id, onSaved) {
  ed.id = id;
  ed.onSaved = onSaved || (() => {});
  clearErrors();
  let task = { title: '', description: '', priority: 'medium', tags: [], due_date: null, reminder_time: null,
    recurrence_pattern: null };
  ed.etag = null;
  if (id) {
    try {
      const res = await api('GET', `/api/tasks/${encodeURIComponent(id)}`);
      task = res.data;
      ed.etag = res.headers.get('ETag');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showMessage($('list-error'), err.message);
      return;
    }
  }
  fill(task);
  loadTags();
  const dlg = $('editor');
  if (!dlg.open) dlg.showModal();
  $('e-title').focus();
  schedulePreview(0);
}

function fill(t) {
  $('e-title').value = t.title || '';
  $('e-description').value = t.description || '';
  $('e-priority').value = t.priority || 'medium';
  $('e-tags').value = (t.tags || []).join(', ');
  setAllDay(isDate(t.due_date));
  $('e-due').value = isDate(t.due_date) ? t.due_date : toLocalInput(t.due_date);
  // Reminders (up to 5): the first absolute one in Reminder, the relative
  // ones chosen in Remind before due (a duration not offered is added).
  const rs = t.reminders || (t.reminder_time ? [{ at: t.reminder_time }] : []);
  const abs = rs.filter((r) => !r.before_due);
  $('e-reminder').value = toLocalInput(abs.length ? abs[0].at : null);
  // Further absolute reminders (set through the API) have no field here:
  // they are kept as they are when the task is saved.
  ed.moreAt = abs.slice(1).map((r) => ({ at: r.at }));
  const before = $('e-before');
  for (const r of rs) {
    if (r.before_due && ![...before.options].some((o) => o.value === r.before_due)) {
      before.append(h('option', { value: r.before_due }, `${r.before_due} before`));
    }
  }
  for (const o of before.options) o.selected = rs.some((r) => r.before_due === o.value);
  const p = t.recurrence_pattern;
  $('e-repeats').value = p ? (p.rrule ? 'rrule' : p.frequency || '') : '';
  $('e-interval').value = p && p.interval ? p.interval : 1;
  for (let d = 0; d < 7; d++) $('e-wd-' + d).checked = !!(p && (p.days_of_week || []).includes(d));
  $('e-lastday').checked = !!(p && p.day_of_month === -1);
  $('e-dom').disabled = $('e-lastday').checked;
  $('e-dom').value = p && p.day_of_month > 0 ? p.day_of_month : '';
  $('e-month').value = p && p.month ? String(p.month) : '';
  $('e-rrule').value = (p && p.rrule) || '';
  $('e-ends').value = p && p.end_date ? 'date' : p && p.occurrences ? 'count' : 'never';
  $('e-enddate').value = toLocalInput(p && p.end_date);
  $('e-count').value = (p && p.occurrences) || 10;
  $('e-repeat-from').value = (p && p.repeat_from) || 'due';
  $('e-tz').value = p ? p.timezone || 'UTC' : browserZone();
  if ($('e-tz').selectedIndex < 0) $('e-tz').append(h('option', { value: p.timezone, selected: true }, p.timezone));
  delete $('e-tz').dataset.touched;
  if (p) $('e-tz').dataset.touched = '1';
  layout();
}

// setAllDay makes the due date field a date (all day) or a date and time.
function setAllDay(on) {
  $('e-allday').checked = on;
  $('e-due').type = on ? 'date' : 'datetime-local';
}

// dueValue is due_date as the API takes it: a date for an all-day task, else an instant.
function dueValue() {
  const v = $('e-due').value;
  if (!v) return null;
  return $('e-allday').checked ? v : fromLocalInput(v);
}

const int = (v) => (v === '' || v === null ? null : Number(v));

// pattern is the recurrence the fields describe (null: does not repeat).
function pattern() {
  const freq = $('e-repeats').value;
  if (!freq) return null;
  const p = {};
  if (freq === 'rrule') p.rrule = $('e-rrule').value.trim();
  else {
    p.frequency = freq;
    p.interval = int($('e-interval').value);
    if (freq === 'weekly') {
      const days = [];
      for (let d = 0; d < 7; d++) if ($('e-wd-' + d).checked) days.push(d);
      if (days.length) p.days_of_week = days;
    }
    if (freq === 'monthly' || freq === 'yearly') {
      const dom = $('e-lastday').checked ? -1 : int($('e-dom').value);
      if (dom !== null) p.day_of_month = dom;
    }
    if (freq === 'yearly' && $('e-month').value) p.month = int($('e-month').value);
  }
  const ends = $('e-ends').value;
  if (ends === 'date') p.end_date = fromLocalInput($('e-enddate').value);
  if (ends === 'count') p.occurrences = int($('e-count').value);
  p.timezone = $('e-tz').value || 'UTC';
  p.repeat_from = $('e-repeat-from').value || 'due';
  return p;
}

function body() {
  const p = pattern();
  return {
    title: $('e-title').value.trim(),
    description: $('e-description').value,
    priority: $('e-priority').value,
    tags: $('e-tags').value.split(',').map((t) => t.trim()).filter(Boolean),
    due_date: dueValue(),
    reminders: reminders(),
    is_recurring: !!p,
    recurrence_pattern: p,
  };
}

// reminders is the editor's reminders as the API takes them: Reminder's
// instant, if set, and each duration chosen in Remind before due.
function reminders() {
  const out = [];
  const at = fromLocalInput($('e-reminder').value);
  if (at) out.push({ at });
  for (const r of ed.moreAt || []) out.push(r);
  for (const o of $('e-before').selectedOptions) out.push({ before_due: o.value });
  return out.slice(0, 5);
}

async function save() {
  clearErrors();
  const b = body();
  if (!b.title) {
    fieldError($('e-title'), $('e-title-error'), 'A task needs a title.');
    $('e-title').focus();
    return;
  }
  const button = $('e-save');
  button.disabled = true;
  try {
    const headers = ed.etag ? { 'If-Match': ed.etag } : {};
    const res = ed.id ? await api('PUT', `/api/tasks/${encodeURIComponent(ed.id)}`, b, headers) :
      await api('POST', '/api/tasks', b, { 'Idempotency-Key': crypto.randomUUID() });
    $('editor').close();
    announce(`Saved ${res.data.title}`);
    ed.onSaved(res.data);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 412) {
      $('editor-conflict-text').textContent = 'This task was changed elsewhere since you opened it, so your ' +
        'edits were not saved. Load the latest version, then make your changes again.';
      $('editor-conflict').hidden = false;
      $('editor-reload').focus();
    } else if (err.status === 400 || err.status === 422) {
      const placed = showErrors(err.fields, err.message);
      const first = [...placed.keys()][0];
      if (first) document.querySelector(`[aria-describedby~="${first}"]`)?.focus();
    } else if (err.status === 404) {
      showMessage($('editor-error'), 'This task was deleted elsewhere; it cannot be saved.');
    } else {
      showMessage($('editor-error'), isUnavailable(err) ? 'TaskFlow cannot be reached, so nothing was saved. ' +
        'Try again in a moment.' : err.message);
    }
  } finally {
    button.disabled = false;
  }
}

function close() {
  ed.previewSeq++;
  if (ed.abort) ed.abort.abort();
  $('editor').close();
  const li = ed.id && document.querySelector(`li[data-id="${CSS.escape(ed.id)}"] button`);
  if (li) li.focus();
}

function schedulePreview(delay = 300) {
  clearTimeout(ed.previewTimer);
  ed.previewTimer = setTimeout(preview, delay);
}

// preview lists the next occurrences of the pattern being edited, as the
// server computes them; its field errors are shown as they are on save.
async function preview() {
  const p = pattern();
  const list = $('next-list');
  const status = $('next-status');
  if (!p) { list.replaceChildren(); return; }
  const due = dueValue();
  if (!due) {
    list.replaceChildren();
    status.textContent = 'Set a due date to see the next occurrences.';
    return;
  }
  const seq = ++ed.previewSeq;
  if (ed.abort) ed.abort.abort();
  ed.abort = new AbortController();
  status.textContent = 'Computing…';
  try {
    const { data } = await api('POST', '/api/recurrence/preview', { due_date: due, recurrence_pattern: p, count: 5 },
      {}, ed.abort.signal);
    if (seq !== ed.previewSeq) return;
    for (const k of Object.keys(fieldMap)) if (k.startsWith('recurrence_pattern') || k === 'due_date') {
      const [i, e] = fieldMap[k];
      fieldError($(i), $(e), '');
    }
    const items = (data && data.occurrences) || [];
    const zone = p.timezone;
    list.replaceChildren(...items.map((o) => {
      // A DATE series (an all-day task) lists dates alone.
      if (o.date) return h('li', {}, h('time', { datetime: o.date }, formatDate(o.date)));
      // {at, local, offset, weekday, timezone}: shown in the browser's zone,
      // and as the server's wall clock in the pattern's zone when that differs.
      const li = h('li', {}, h('time', { datetime: o.at }, formatLocal(o.at)));
      const z = o.timezone || zone;
      if (z && z !== browserZone()) {
        const wall = o.local ? `${o.weekday || ''} ${o.local.replace('T', ' ').slice(0, 16)} ${o.offset || ''}`.trim() :
          formatIn(o.at, z);
        li.append(` (${wall} in ${z})`);
      }
      return li;
    }));
    status.textContent = items.length ? '' : 'This series has no occurrences.';
  } catch (err) {
    if (seq !== ed.previewSeq || !(err instanceof ApiError)) return;
    list.replaceChildren();
    if (err.status === 400) {
      showErrors(err.fields, '');
      status.textContent = 'Fix the fields marked above to see the next occurrences.';
    } else status.textContent = err.message;
  }
}

async function loadTags() {
  try {
    const { data } = await api('GET', '/api/tags');
    ed.tags = ((data && data.items) || []).map((t) => t.name);
  } catch { ed.tags = []; }
}

// suggest offers the person's existing tags that match what they type.
function suggest() {
  const box = $('e-tag-suggestions');
  const input = $('e-tags');
  const parts = input.value.split(',');
  const current = parts[parts.length - 1].trim().toLowerCase();
  const have = new Set(parts.slice(0, -1).map((t) => t.trim().toLowerCase()));
  const matches = ed.tags.filter((t) => !have.has(t.toLowerCase()) && t.toLowerCase().startsWith(current) &&
    t.toLowerCase() !== current).slice(0, 8);
  box.replaceChildren(...matches.map((t) => h('button', { type: 'button', class: 'chip',
    onclick: () => {
      parts[parts.length - 1] = (parts.length > 1 ? ' ' : '') + t;
      input.value = parts.join(',') + ', ';
      input.focus();
      suggest();
    } }, 'Add tag ' + t)));
}

export function isEditing(id) { return $('editor').open && ed.id === id; }
