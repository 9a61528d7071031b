// The settings dialog: the time zone all-day due dates are read in and the
// time of day their reminders count back from (GET/PATCH /api/settings).
import { $, h, fieldError, showMessage, announce } from './dom.js';
import { api, ApiError } from './api.js';
import { browserZone, zones } from './time.js';

const fields = { timezone: ['s-tz', 's-tz-error'], all_day_reminder_time: ['s-reminder', 's-reminder-error'] };

function clear() {
  for (const [input, err] of Object.values(fields)) { $(input).removeAttribute('aria-invalid'); $(err).hidden = true; }
  $('settings-error').hidden = true;
}

async function openSettings() {
  clear();
  const sel = $('s-tz');
  if (!sel.options.length) for (const z of zones()) sel.append(h('option', { value: z }, z));
  try {
    const { data } = await api('GET', '/api/settings');
    sel.value = data.timezone;
    if (sel.selectedIndex < 0) sel.append(h('option', { value: data.timezone, selected: true }, data.timezone));
    $('s-reminder').value = data.all_day_reminder_time;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showMessage($('list-error'), err.message);
    return;
  }
  $('settings').showModal();
  sel.focus();
}

async function save(ev) {
  ev.preventDefault();
  clear();
  try {
    await api('PATCH', '/api/settings', { timezone: $('s-tz').value, all_day_reminder_time: $('s-reminder').value });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    for (const [k, msg] of Object.entries(err.fields || {})) {
      if (fields[k]) fieldError($(fields[k][0]), $(fields[k][1]), msg);
    }
    showMessage($('settings-error'), err.message);
    return;
  }
  $('settings').close();
  announce('Settings saved.');
}

// initSettings wires the dialog.
export function initSettings() {
  $('open-settings').addEventListener('click', openSettings);
  $('settings-form').addEventListener('submit', save);
  $('s-cancel').addEventListener('click', () => $('settings').close());
}

// adoptBrowserZone sets the user's zone to the browser's the first time
// they use the app here, while their settings still have the default (UTC).
export async function adoptBrowserZone() {
  const key = 'taskflow.zoneAdopted';
  try { if (localStorage.getItem(key)) return; } catch { return; }
  try {
    const { data } = await api('GET', '/api/settings');
    const zone = browserZone();
    if (data.timezone === 'UTC' && zone !== 'UTC') await api('PATCH', '/api/settings', { timezone: zone });
    localStorage.setItem(key, '1');
  } catch { /* tried again next time */ }
}
