// The calendar feed: a secret URL a calendar app (Thunderbird, Apple
// Calendar, Google Calendar) subscribes to. "Subscribe in a calendar"
// creates it, or replaces it with a new one (the old URL stops working);
// "Stop sharing" revokes it. TaskFlow keeps only a hash of the secret, so
// the URL is shown once, when it is made.

import { $ } from './dom.js';
import { api, ApiError } from './api.js';

function status(text) { $('calendar-status').textContent = text; }

function showURL(url) {
  $('calendar-url').value = url || '';
  $('calendar-url-row').hidden = !url;
}

async function subscribe() {
  const replacing = $('calendar-url').value !== '';
  status('Making the link…');
  try {
    const { status: code, data } = await api('POST', '/api/calendar/feed');
    showURL(data.url);
    status(code === 201
      ? 'Your calendar link is ready. Add it to your calendar app as a subscription (by URL).'
      : 'A new calendar link replaces the old one' + (replacing ? '' : ' (any link made before stops working)') + '.');
    $('calendar-url').focus();
    $('calendar-url').select();
  } catch (err) {
    status(err instanceof ApiError ? err.message : 'The link could not be made.');
  }
}

async function stop() {
  status('Stopping…');
  try {
    await api('DELETE', '/api/calendar/feed');
    showURL('');
    status('Sharing stopped: the calendar link no longer works.');
  } catch (err) {
    status(err instanceof ApiError ? err.message : 'Sharing could not be stopped.');
  }
}

async function copy() {
  const url = $('calendar-url').value;
  try {
    await navigator.clipboard.writeText(url);
    status('Link copied.');
  } catch {
    $('calendar-url').select();
    status('Select the link and copy it.');
  }
}

export function initCalendar() {
  const button = $('calendar-button');
  const panel = $('calendar-panel');
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) $('calendar-subscribe').focus();
  });
  $('calendar-subscribe').addEventListener('click', subscribe);
  $('calendar-stop').addEventListener('click', stop);
  $('calendar-copy').addEventListener('click', copy);
}

// resetCalendar forgets the link shown (on sign-out).
export function resetCalendar() {
  showURL('');
  status('');
  $('calendar-panel').hidden = true;
  $('calendar-button').setAttribute('aria-expanded', 'false');
}
