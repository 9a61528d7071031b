// The API client: JSON over fetch with the session cookie (same origin, so
// the browser sends TaskFlow's own Origin on every change), TaskFlow's error
// bodies turned into ApiError, and the connection watched: while the API
// cannot be reached a banner says so, and the app is told when it is back.

import { $ } from './dom.js';

export class ApiError extends Error {
  constructor(status, code, message, fields, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
    this.headers = headers;
  }
}

// Unreachable: the API did not answer, or answered that it is unavailable.
export const isUnavailable = (err) => err instanceof ApiError && (err.status === 0 || err.status === 502 ||
  err.status === 503 || err.status === 504);

const recoverHandlers = [];
let down = false;
let probeTimer = null;

// onRecover runs fn whenever the API answers again after an outage.
export function onRecover(fn) { recoverHandlers.push(fn); }

export function isDown() { return down; }

function markDown() {
  if (!down) {
    down = true;
    $('offline').hidden = false;
  }
  if (!probeTimer) probeTimer = setTimeout(probe, 2000);
}

function markUp() {
  if (!down) return;
  down = false;
  $('offline').hidden = true;
  for (const fn of recoverHandlers) fn();
}

async function probe() {
  probeTimer = null;
  try {
    const res = await fetch('/api/auth/get-session', { credentials: 'same-origin', cache: 'no-store' });
    if (res.status < 500) { markUp(); return; }
  } catch { /* still down */ }
  probeTimer = setTimeout(probe, 2500);
}

// messages says what a status means to a person, when the body says nothing usable.
const messages = {
  0: 'TaskFlow could not be reached. Check your connection and try again.',
  400: 'Some of what you entered is not valid.',
  401: 'You are signed out. Please sign in again.',
  403: 'That is not allowed.',
  404: 'That task no longer exists.',
  409: 'That conflicts with something that already exists.',
  412: 'This task was changed elsewhere since you opened it.',
  413: 'That is too large to save.',
  429: 'Too many attempts. Please wait a moment and try again.',
  503: 'TaskFlow is briefly unavailable. Please try again in a moment.',
};

export function messageFor(status) {
  return messages[status] || (status >= 500 ? messages[503] : 'Something went wrong. Please try again.');
}

let unauthorized = () => {};
// onUnauthorized runs when an API call answers 401 (the session ended).
export function onUnauthorized(fn) { unauthorized = fn; }

// api sends one request; body is JSON-encoded. It resolves to
// {status, data, headers} for 2xx and 304, and rejects with ApiError.
export async function api(method, path, body, headers = {}, signal) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers }, signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    markDown();
    throw new ApiError(0, 'unreachable', messages[0]);
  }
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (res.ok) {
    markUp();
    return { status: res.status, data, headers: res.headers };
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) markDown();
  else markUp();
  // TaskFlow's {"error":{code,message,fields}}, or Better Auth's {code,message}.
  const e = (data && typeof data.error === 'object' && data.error) || data || {};
  const message = typeof e.message === 'string' && e.message && res.status < 500 ? e.message : messageFor(res.status);
  const err = new ApiError(res.status, e.code || '', message, e.fields, res.headers);
  if (res.status === 401 && !path.startsWith('/api/auth/')) unauthorized();
  throw err;
}

// query builds a query string from the non-empty values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}
