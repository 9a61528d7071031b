// Sign in, sign up and sign out against TaskFlow's accounts (Better Auth's
// email-and-password protocol); the session is an HttpOnly cookie the
// browser keeps, so this module never sees a token.

import { $, fieldError, showMessage } from './dom.js';
import { api, ApiError, isUnavailable } from './api.js';

// session is the signed-in user, or null.
export async function session() {
  const { data } = await api('GET', '/api/auth/get-session');
  return data && data.user ? data.user : null;
}

export async function signOut() {
  await api('POST', '/api/auth/sign-out', {});
}

// show shows the sign-in form (or the sign-up form) and resolves nothing:
// onSignedIn is called with the user once a form succeeds.
export function setupAuth(onSignedIn) {
  const signin = $('signin');
  const signup = $('signup');
  const switchTo = (toSignup) => {
    signin.hidden = toSignup;
    signup.hidden = !toSignup;
    showMessage($('signin-error'), '');
    showMessage($('signup-error'), '');
    (toSignup ? $('signup-name') : $('signin-email')).focus();
  };
  $('to-signup').addEventListener('click', () => switchTo(true));
  $('to-signin').addEventListener('click', () => switchTo(false));

  signin.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const email = $('signin-email').value.trim();
    const password = $('signin-password').value;
    if (!email || !password) {
      showMessage($('signin-error'), 'Enter your email and password.');
      return;
    }
    await submit(signin, $('signin-error'), async () => {
      const { data } = await api('POST', '/api/auth/sign-in/email', { email, password });
      $('signin-password').value = '';
      onSignedIn((data && data.user) || await session());
    }, (err) => {
      if (err.status === 429) {
        const wait = err.headers && err.headers.get('Retry-After');
        return wait ? `Too many attempts. Try again in ${wait} seconds.` : err.message;
      }
      if (err.status === 401 || err.status === 400 || err.status === 403 || err.status === 422) {
        return 'That email and password do not match an account.';
      }
      return err.message;
    });
  });

  signup.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fields = { name: $('signup-name'), email: $('signup-email'), password: $('signup-password') };
    const values = {
      name: fields.name.value.trim(), email: fields.email.value.trim(), password: fields.password.value,
    };
    const local = {};
    if (!values.name) local.name = 'Enter your name.';
    if (!/^[^\s@]+@[^\s@]+$/.test(values.email)) local.email = 'Enter an email address.';
    if (values.password.length < 8) local.password = 'Use at least 8 characters.';
    for (const k of Object.keys(fields)) fieldError(fields[k], $(`signup-${k}-error`), local[k]);
    if (Object.keys(local).length) {
      fields[Object.keys(local)[0]].focus();
      return;
    }
    await submit(signup, $('signup-error'), async () => {
      const { data } = await api('POST', '/api/auth/sign-up/email', values);
      fields.password.value = '';
      onSignedIn((data && data.user) || await session());
    }, (err) => {
      // Field errors next to their fields; a message naming one field goes there too.
      const fe = { ...err.fields };
      const m = (err.message || '').toLowerCase();
      if (!Object.keys(fe).length) {
        if (m.includes('password')) fe.password = err.message;
        else if (m.includes('email') || m.includes('exist')) fe.email = err.message;
      }
      let first = null;
      for (const k of Object.keys(fields)) {
        fieldError(fields[k], $(`signup-${k}-error`), fe[k] || '');
        if (fe[k] && !first) first = fields[k];
      }
      if (first) { first.focus(); return ''; }
      return err.message;
    });
  });
}

async function submit(form, errEl, run, explain) {
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  showMessage(errEl, '');
  try {
    await run();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showMessage(errEl, isUnavailable(err) ? err.message : explain(err));
  } finally {
    button.disabled = false;
  }
}

export function showAuth() {
  $('signin').hidden = false;
  $('signup').hidden = true;
  $('auth').hidden = false;
  $('signin-email').focus();
}
