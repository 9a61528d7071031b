// DOM helpers. Data only ever reaches the page as text nodes and attribute
// values: nothing here parses HTML.

export const $ = (id) => document.getElementById(id);

// h builds an element: h('li', {class: 'task', 'aria-label': x}, child, 'text').
// Attributes starting with "on" are listeners; strings become text nodes.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'checked' || k === 'value' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function setText(el, text) { el.textContent = text; }

export function clear(el) { el.replaceChildren(); }

// Field errors: the message is shown next to its field and tied to it with
// aria-describedby and aria-invalid, keeping any hint the field had.
export function fieldError(input, errEl, message) {
  const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== errEl.id);
  if (message) {
    errEl.textContent = message;
    errEl.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    ids.unshift(errEl.id);
  } else {
    errEl.textContent = '';
    errEl.hidden = true;
    input.removeAttribute('aria-invalid');
  }
  if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
  else input.removeAttribute('aria-describedby');
}

export function showMessage(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

let announceTimer;
// announce tells screen readers about something that happened elsewhere.
export function announce(text) {
  const el = $('announce');
  if (!el) return;
  el.textContent = '';
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { el.textContent = text; }, 50);
}
