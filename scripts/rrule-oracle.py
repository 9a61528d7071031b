#!/usr/bin/env python3
"""The oracle for TaskFlow's wall-clock times (API.md §5, RFC 5545 §3.3.5).

For every IANA zone (zoneinfo.available_timezones()) whose UTC offset changes
between the years given (default 2030 and 2031), it lists the changes and, for
wall-clock times inside each gap and each overlap, generates series (daily,
weekly, monthly; with and without COUNT; with a DTSTART that matches the rule
and one that does not) and their occurrences as python-dateutil's rrule gives
them with the standard library's zoneinfo zones. zoneinfo's default, fold=0,
is RFC 5545's choice in both cases: a time in a gap takes the offset before
it, a time that occurs twice is the first. (dateutil's own tz resolves gaps
the other way, so it is not used.)

dateutil drops a DTSTART that does not match the rule and counts COUNT from
the first match; RFC 5545 §3.3.10 counts DTSTART as the first occurrence. The
output is dateutil's, unchanged; the Go test (pkg/recurrence/oracle_test.go)
compensates, and says how.

Output: one JSON object on stdout:
  {"tzdata": version or null, "zones": {zone: [[unix, offset before, offset after], ...]},
   "cases": [{"zone", "kind": "gap"|"overlap", "dtstart": RFC 3339 UTC, "rrule", "fields", "count", "n",
              "instants": [RFC 3339 UTC, ...]}]}
Usage: scripts/rrule-oracle.py [first year] [last year]
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

from dateutil.rrule import rrulestr

UTC = timezone.utc
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]  # Python's weekday() order


def offset(tz, ts):
    return int(datetime.fromtimestamp(ts, tz).utcoffset().total_seconds())


def transitions(tz, first, last):
    """Every change of UTC offset in [first-01-01, (last+1)-01-01) UTC, to the second."""
    start = int(datetime(first, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(last + 1, 1, 1, tzinfo=UTC).timestamp())
    out = []
    step = 86400  # no zone changes its offset twice within a day
    prev = offset(tz, start)
    t = start
    while t < end:
        nxt = min(t + step, end)
        o = offset(tz, nxt)
        if o != prev:
            lo, hi = t, nxt  # offset(lo) == prev, offset(hi) != prev
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(tz, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            out.append([hi, prev, offset(tz, hi)])
            prev = offset(tz, hi)
        t = nxt
    return out


def unambiguous(tz, naive):
    """naive exists exactly once in tz."""
    a, b = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if a.utcoffset() != b.utcoffset():
        return False
    return a.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def stamp(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def series(tz, wall):
    """(rrule, fields, count, n, naive DTSTART) of the series made for wall-clock time wall."""
    day = DAYS[wall.weekday()]
    dow = (wall.weekday() + 1) % 7  # TaskFlow's days_of_week: 0 = Sunday
    yield "FREQ=DAILY", {"frequency": "daily"}, 0, 7, wall - timedelta(days=3)
    yield "FREQ=DAILY;COUNT=4", {"frequency": "daily", "occurrences": 4}, 4, 6, wall - timedelta(days=3)
    yield "FREQ=WEEKLY", {"frequency": "weekly"}, 0, 4, wall - timedelta(days=14)
    yield "FREQ=WEEKLY;COUNT=3", {"frequency": "weekly", "occurrences": 3}, 3, 5, wall - timedelta(days=14)
    # A DTSTART that does not match the rule: counted by RFC 5545, dropped by dateutil.
    yield (f"FREQ=WEEKLY;BYDAY={day};COUNT=3", {"frequency": "weekly", "days_of_week": [dow], "occurrences": 3},
           3, 5, wall - timedelta(days=10))
    yield f"FREQ=WEEKLY;BYDAY={day}", {"frequency": "weekly", "days_of_week": [dow]}, 0, 4, wall - timedelta(days=10)
    m = wall.month - 2
    y = wall.year + (m - 1) // 12
    m = (m - 1) % 12 + 1
    try:
        two_months = wall.replace(year=y, month=m)
        yield "FREQ=MONTHLY", {"frequency": "monthly"}, 0, 4, two_months
        yield "FREQ=MONTHLY;COUNT=3", {"frequency": "monthly", "occurrences": 3}, 3, 5, two_months
    except ValueError:
        pass  # no such day two months earlier
    yield (f"FREQ=MONTHLY;BYMONTHDAY={wall.day};COUNT=3", {"frequency": "monthly", "day_of_month": wall.day,
           "occurrences": 3}, 3, 5, wall - timedelta(days=40))


def main(first, last):
    zones, cases = {}, []
    for name in sorted(available_timezones()):
        try:
            tz = ZoneInfo(name)
        except Exception:
            continue
        ts = transitions(tz, first, last)
        if not ts:
            continue
        zones[name] = ts
        for when, before, after in ts:
            kind = "gap" if after > before else "overlap"
            lo, hi = sorted((before, after))
            base = datetime.fromtimestamp(when, UTC).replace(tzinfo=None)
            # The wall-clock times the change skips (gap) or repeats (overlap): [base+lo, base+hi).
            for at in (lo, (lo + hi) // 2 // 60 * 60):
                wall = base + timedelta(seconds=at)
                for rule, fields, count, n, dtstart in series(tz, wall):
                    if not unambiguous(tz, dtstart):
                        continue
                    start = dtstart.replace(tzinfo=tz)
                    got = []
                    for v in rrulestr(rule, dtstart=start):
                        got.append(stamp(v))
                        if len(got) > n:
                            break
                    fields["timezone"] = name
                    cases.append({"zone": name, "kind": kind, "dtstart": stamp(start), "rrule": rule,
                                  "fields": fields, "count": count, "n": n, "instants": got})
    json_version = None
    import os
    import zoneinfo
    for d in zoneinfo.TZPATH:  # zoneinfo reads the first of these that has the zone, else the tzdata package
        if os.path.exists(os.path.join(d, "tzdata.zi")):
            json_version = open(os.path.join(d, "tzdata.zi")).readline().split()[-1]
            break
    else:
        try:
            import tzdata
            json_version = tzdata.IANA_VERSION
        except ImportError:
            pass
    version = json_version
    json.dump({"tzdata": version, "zones": zones, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args + [2030, 2031][len(args):]))
