// Notifications: delivered reminders, newest first, with an unread count;
// the live stream adds the ones that fire while the page is open.

import { $, h, announce, showMessage } from './dom.js';
import { api, ApiError } from './api.js';
import { formatLocal } from './time.js';

const state = { items: [] };

export function initNotifications() {
  const button = $('notif-button');
  button.addEventListener('click', () => {
    const panel = $('notif-panel');
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) {
      const first = panel.querySelector('button');
      (first || $('notif-heading')).focus?.();
    }
  });
}

export async function loadNotifications() {
  try {
    const { data } = await api('GET', '/api/notifications?limit=50');
    state.items = (data && data.items) || [];
    render();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
}

// addNotification shows one that arrived on the live stream.
export function addNotification(n) {
  if (!n || state.items.some((x) => x.id === n.id)) return;
  state.items.unshift(n);
  render();
  announce(`Reminder: ${n.title}`);
}

function render() {
  const unread = state.items.filter((n) => !n.read).length;
  const badge = $('notif-count');
  badge.textContent = `${unread} unread`;
  badge.classList.toggle('zero', unread === 0);
  $('notif-empty').hidden = state.items.length > 0;
  $('notif-list').replaceChildren(...state.items.map((n) => {
    const li = h('li', { class: n.read ? 'read' : 'unread' },
      h('strong', {}, n.title || 'Reminder'),
      n.message ? h('span', {}, ' — ', n.message) : '',
      h('span', { class: 'muted' }, ' · ', h('time', { datetime: n.remind_at }, formatLocal(n.remind_at, false))));
    if (!n.read) {
      li.append(' ', h('button', { type: 'button', onclick: (ev) => markRead(n, ev.currentTarget) }, 'Mark read'));
    }
    // Snooze: the reminder fires once more after the chosen time.
    const choice = h('select', { 'aria-label': 'Snooze for' },
      h('option', { value: '10' }, '10 minutes'), h('option', { value: '60' }, '1 hour'),
      h('option', { value: '1440' }, '1 day'));
    li.append(' ', choice, ' ', h('button', { type: 'button', onclick: (ev) => snooze(n, choice, ev.currentTarget) }, 'Snooze'));
    if (n.snoozed_until) {
      li.append(h('span', { class: 'muted' }, ' · snoozed until ',
        h('time', { datetime: n.snoozed_until }, formatLocal(n.snoozed_until, false))));
    }
    return li;
  }));
}

async function markRead(n, button) {
  button.disabled = true;
  try {
    await api('PATCH', `/api/notifications/${encodeURIComponent(n.id)}`, { read: true });
    n.read = true;
    render();
    $('notif-heading').focus?.();
  } catch (err) {
    button.disabled = false;
    if (err instanceof ApiError) showMessage($('list-error'), err.message);
  }
}

async function snooze(n, choice, button) {
  button.disabled = true;
  try {
    const { data } = await api('POST', `/api/notifications/${encodeURIComponent(n.id)}/snooze`, { minutes: Number(choice.value) });
    Object.assign(n, data);
    render();
    announce(`Snoozed until ${formatLocal(n.snoozed_until, false)}`);
  } catch (err) {
    button.disabled = false;
    if (err instanceof ApiError) showMessage($('list-error'), err.message);
  }
}

export function resetNotifications() {
  state.items = [];
  render();
  $('notif-panel').hidden = true;
  $('notif-button').setAttribute('aria-expanded', 'false');
}
