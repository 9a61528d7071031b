"""Reads a calendar feed with Debian's python3-icalendar, an iCalendar parser
independent of TaskFlow's encoder, and prints what it found as JSON:

  {"calendar": {...}, "todos": [{uid, summary, ..., "occurrences": [UTC...]}],
   "timezones": {"Europe/Berlin": {"checked": N, "mismatches": [...]}}}

Each VTODO's RRULE is expanded by dateutil.rrule from its DTSTART, in the
DTSTART's IANA zone (zoneinfo), to at most LIMIT occurrences. Each VTIMEZONE
is turned into a tz by icalendar (to_tz) and its UTC offsets compared with
zoneinfo's at noon on the 1st and 15th of every month of the given years.

usage: /usr/bin/python3 ics_parse.py FEED.ics LIMIT FIRST_YEAR LAST_YEAR
"""
import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule

path, limit, y0, y1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
raw = open(path, 'rb').read()
cal = icalendar.Calendar.from_ical(raw)


def text(v):
    return None if v is None else str(v)


def when(comp, name):
    """The property as an instant (UTC, ISO 8601), or a DATE as YYYY-MM-DD."""
    if name not in comp:
        return None
    v = comp.decoded(name)
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    return v.isoformat()


def categories(comp):
    v = comp.get('CATEGORIES')
    if v is None:
        return []
    out = []
    for c in v if isinstance(v, list) else [v]:
        if hasattr(c, 'cats'):
            out.extend(str(x) for x in c.cats)
        else:
            out.append(str(c))
    return out


def occurrences(comp):
    if 'RRULE' not in comp:
        return None
    prop = comp['DTSTART']
    start = prop.dt
    tzid = prop.params.get('TZID')
    # The wall clock of DTSTART in its IANA zone (zoneinfo keeps the zone's
    # rules for every expanded date; pytz's fixed offset would not).
    zone = ZoneInfo(tzid) if tzid else timezone.utc
    start = start.replace(tzinfo=None).replace(tzinfo=zone) if tzid else start.astimezone(timezone.utc)
    rule = rrule.rrulestr(comp['RRULE'].to_ical().decode(), dtstart=start)
    out = []
    for t in rule:
        if len(out) >= limit:
            break
        out.append(t.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))
    return out


todos = []
for comp in cal.walk('VTODO'):
    alarms = []
    for a in comp.walk('VALARM'):
        alarms.append({'action': text(a.get('ACTION')), 'trigger': when(a, 'TRIGGER'),
                       'description': text(a.get('DESCRIPTION'))})
    rel = comp.get('RELATED-TO')
    todos.append({
        'uid': text(comp.get('UID')), 'summary': text(comp.get('SUMMARY')),
        'description': text(comp.get('DESCRIPTION')), 'status': text(comp.get('STATUS')),
        'priority': int(comp.get('PRIORITY')) if 'PRIORITY' in comp else None,
        'categories': categories(comp), 'due': when(comp, 'DUE'), 'dtstart': when(comp, 'DTSTART'),
        'due_tzid': comp['DUE'].params.get('TZID') if 'DUE' in comp else None,
        'dtstamp': when(comp, 'DTSTAMP'), 'created': when(comp, 'CREATED'),
        'last_modified': when(comp, 'LAST-MODIFIED'),
        'rrule': comp['RRULE'].to_ical().decode() if 'RRULE' in comp else None,
        'related_to': text(rel), 'reltype': rel.params.get('RELTYPE') if rel is not None else None,
        'alarms': alarms, 'occurrences': occurrences(comp),
    })

zones = {}
for tz in cal.walk('VTIMEZONE'):
    tzid = str(tz['TZID'])
    mine, ref = tz.to_tz(), ZoneInfo(tzid)
    checked, bad = 0, []
    for y in range(y0, y1 + 1):
        for m in range(1, 13):
            for d in (1, 15):
                u = datetime(y, m, d, 12, tzinfo=timezone.utc)
                got = u.astimezone(mine).utcoffset()
                want = u.astimezone(ref).utcoffset()
                checked += 1
                if got != want:
                    bad.append('%s: %s, zoneinfo %s' % (u.isoformat(), got, want))
    zones[tzid] = {'checked': checked, 'mismatches': bad[:10]}

print(json.dumps({
    'calendar': {k: text(cal.get(k)) for k in ('PRODID', 'VERSION', 'CALSCALE', 'X-WR-CALNAME')},
    'todos': todos, 'timezones': zones,
}))
