// Times: the API speaks UTC RFC 3339; people see and type their browser's
// local time (datetime-local inputs hold local wall-clock time).

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

const two = (n) => String(n).padStart(2, '0');

// toLocalInput turns an RFC 3339 instant into a datetime-local value.
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

// fromLocalInput turns a datetime-local value into a UTC RFC 3339 instant
// ('' stays null; an unreadable value is returned as is for the server to refuse).
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value); // a date-time without offset is local time
  if (Number.isNaN(d.getTime())) return value;
  return d.toISOString().replace('.000Z', 'Z');
}

const fmtFull = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const fmtShort = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

// formatLocal is an instant as local date and time with its weekday.
export function formatLocal(iso, full = true) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  if (!full && d.getFullYear() === new Date().getFullYear()) return fmtShort.format(d);
  return fmtFull.format(d);
}

// formatIn is an instant as wall-clock time in zone.
export function formatIn(iso, zone) {
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
      timeZone: zone,
    }).format(new Date(iso));
  } catch {
    return formatLocal(iso);
  }
}

export function zones() {
  let list = [];
  try { list = Intl.supportedValuesOf('timeZone'); } catch { list = []; }
  const set = new Set(list);
  set.add('UTC');
  set.add(browserZone());
  return [...set].sort();
}

// isDate reports whether a due_date is an all-day date (2031-05-04), not an instant.
export const isDate = (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);

// todayLocal is the browser's date as YYYY-MM-DD.
export function todayLocal() {
  const d = new Date();
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

// formatDate is an all-day date with its weekday, no time.
export function formatDate(date) {
  const [y, m, d] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })
    .format(new Date(Date.UTC(y, m - 1, d)));
}
