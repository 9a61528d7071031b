// TaskFlow's web app: a client of the public API (UI.md). It starts signed
// out or in, by the session cookie, and keeps the list live with the
// update stream.

import { $, showMessage, announce } from './dom.js';
import { api, ApiError, onRecover, onUnauthorized, isUnavailable } from './api.js';
import { session, setupAuth, showAuth, signOut } from './auth.js';
import { initList, reload, refresh, applyChange, upsert, removeTask, resetList, setTagColors, taskById } from './tasks.js';
import { initEditor, open as openEditor } from './editor.js';
import { initNotifications, loadNotifications, addNotification, resetNotifications } from './notifications.js';
import { initHistory, openHistory } from './history.js';
import { initSettings, adoptBrowserZone } from './settings.js';
import { initCalendar, resetCalendar } from './calendar.js';

let signedIn = false;
let stream = null;
let started = false;

function showApp(user) {
  signedIn = true;
  $('loading').hidden = true;
  $('auth').hidden = true;
  $('app').hidden = false;
  $('who').textContent = user ? user.name || user.email || '' : '';
  if (!started) {
    started = true;
    initList({ edit, history, remove });
  }
  loadTags();
  reload();
  loadNotifications();
  connect();
  adoptBrowserZone();
  $('new-title').focus();
}

function showSignedOut() {
  signedIn = false;
  if (stream) { stream.close(); stream = null; }
  resetList();
  resetNotifications();
  resetCalendar();
  $('loading').hidden = true;
  $('app').hidden = true;
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  showAuth();
}

async function loadTags() {
  try {
    const { data } = await api('GET', '/api/tags');
    setTagColors((data && data.items) || []);
  } catch { /* colours are optional */ }
}

// connect opens the live stream; EventSource reconnects by itself with
// Last-Event-ID, and after a reconnect the list is asked for again.
function connect() {
  if (stream) stream.close();
  const es = new EventSource('/api/updates');
  stream = es;
  let dropped = false;
  const onChange = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.type === 'notification') addNotification(msg.notification);
    else applyChange(msg);
  };
  for (const type of ['created', 'updated', 'completed', 'skipped', 'deleted', 'notification', 'message']) {
    es.addEventListener(type, onChange);
  }
  es.addEventListener('open', () => {
    if (dropped) { dropped = false; refresh(); loadNotifications(); }
  });
  es.addEventListener('error', () => {
    dropped = true;
    if (es.readyState === EventSource.CLOSED && stream === es) {
      // The server refused the stream (signed out, or too many): check the
      // session, then try again a little later.
      setTimeout(async () => {
        if (stream !== es || !signedIn) return;
        try {
          const user = await session();
          if (!user) { showSignedOut(); return; }
        } catch { /* unreachable: the recovery handler reconnects */ }
        if (stream === es) connect();
      }, 3000);
    }
  });
}

function edit(id) { openEditor(id, (t) => upsert(t)); }

function history(task) { openHistory(task, document.activeElement); }

// remove asks first, then deletes.
function remove(task) {
  const dlg = $('confirm');
  $('confirm-text').textContent = `“${task.title}” and its reminders will be deleted. This cannot be undone.`;
  const back = document.activeElement;
  const yes = $('confirm-yes');
  const no = $('confirm-no');
  const done = () => { yes.onclick = null; no.onclick = null; };
  no.onclick = () => { dlg.close(); done(); back && back.focus(); };
  yes.onclick = async () => {
    yes.disabled = true;
    try {
      await api('DELETE', `/api/tasks/${encodeURIComponent(task.id)}`);
      dlg.close();
      done();
      removeTask(task.id);
      announce(`Deleted ${task.title}`);
    } catch (err) {
      dlg.close();
      done();
      if (err instanceof ApiError && err.status === 404) removeTask(task.id);
      else if (err instanceof ApiError) showMessage($('list-error'), err.message);
    } finally {
      yes.disabled = false;
    }
  };
  dlg.showModal();
  no.focus();
}

function setupQuickAdd() {
  const input = $('new-title');
  $('quick-add').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const title = input.value.trim();
    if (!title) {
      showMessage($('new-title-error'), 'Type a title first.');
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    showMessage($('new-title-error'), '');
    input.removeAttribute('aria-invalid');
    const button = ev.submitter || $('quick-add').querySelector('button');
    button.disabled = true;
    try {
      const { data } = await api('POST', '/api/tasks', { title }, { 'Idempotency-Key': crypto.randomUUID() });
      input.value = '';
      announce(`Added ${data.title}`);
      upsert(data);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const msg = (err.fields && err.fields.title) || (isUnavailable(err) ?
        'TaskFlow cannot be reached, so the task was not added. Try again in a moment.' : err.message);
      showMessage($('new-title-error'), msg);
      input.setAttribute('aria-invalid', 'true');
    } finally {
      button.disabled = false;
      input.focus();
    }
  });
}

function setupShortcuts() {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || !signedIn || document.querySelector('dialog[open]')) return;
    const t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (ev.key === '/') { ev.preventDefault(); $('f-search').focus(); }
    if (ev.key === 'n') { ev.preventDefault(); $('new-title').focus(); }
  });
}

async function start() {
  setupAuth(showApp);
  setupQuickAdd();
  setupShortcuts();
  initEditor();
  initNotifications();
  initHistory();
  initSettings();
  initCalendar();
  $('signout').addEventListener('click', async () => {
    try { await signOut(); } catch (err) {
      if (err instanceof ApiError && isUnavailable(err)) {
        showMessage($('list-error'), 'TaskFlow cannot be reached, so you are still signed in. Try again in a moment.');
        return;
      }
    }
    showSignedOut();
  });
  onUnauthorized(() => { if (signedIn) showSignedOut(); });
  onRecover(() => {
    if (signedIn) { refresh(); loadNotifications(); if (!stream || stream.readyState === EventSource.CLOSED) connect(); }
    else boot();
  });
  await boot();
}

async function boot() {
  try {
    const user = await session();
    if (user) showApp(user);
    else showSignedOut();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    $('loading').textContent = isUnavailable(err) ? 'Waiting for TaskFlow to answer…' : err.message;
    if (!isUnavailable(err)) showSignedOut();
  }
}

start();
export { taskById };
