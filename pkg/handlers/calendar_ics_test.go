package handlers_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// debianPython is Debian's interpreter, with python3-icalendar and
// python3-dateutil from apt (scripts/tools.sh installs them); a python3
// found first on the PATH may be another one without them.
const debianPython = "/usr/bin/python3"

// parsed is what testdata/ics_parse.py read from a feed.
type parsed struct {
	Calendar map[string]string `json:"calendar"`
	Todos    []struct {
		UID, Summary, Description, Status string
		Priority                          int
		Categories                        []string
		RRule                             string
		RelatedTo                         string `json:"related_to"`
		Reltype                           string
		Alarms                            []struct{ Action, Trigger, Description string }
		Occurrences                       []string
	} `json:"todos"`
	Timezones map[string]struct {
		Checked    int
		Mismatches []string
	} `json:"timezones"`
}

// parseICS runs the independent parser on a feed body. Without it the test
// is skipped on a developer's machine and fails in CI (CI=true), where
// scripts/tools.sh must have installed it.
func parseICS(t *testing.T, body []byte, limit, y0, y1 int) (parsed, []map[string]any) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import icalendar, dateutil.rrule, zoneinfo").Run(); err != nil {
		msg := "Debian's python3-icalendar and python3-dateutil are missing (apt-get install -y python3-icalendar python3-dateutil; scripts/tools.sh does): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	f := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(debianPython, "testdata/ics_parse.py", f, strconv.Itoa(limit), strconv.Itoa(y0), strconv.Itoa(y1))
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("icalendar could not read the feed: %v\n%s\n%s", err, errb.String(), body)
	}
	var p parsed
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	var raw struct{ Todos []map[string]any }
	_ = json.Unmarshal(out.Bytes(), &raw)
	return p, raw.Todos
}

// checkLines checks the content lines themselves (RFC 5545 §3.1): CRLF
// endings only, at most 75 octets each, no UTF-8 character split by a fold.
func checkLines(t *testing.T, body []byte) {
	t.Helper()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Error("the feed does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
	for i, l := range lines {
		if len(l) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(l), l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d splits a UTF-8 character: %q", i+1, l)
		}
	}
}

// TestCalendarFeedReadByIcalendar: the feed, read by Debian's
// python3-icalendar, says what the tasks say, and each series' RRULE,
// expanded by python-dateutil from its DTSTART in its zone, gives the
// occurrences TaskFlow's own preview (POST /api/recurrence/preview) gives
// for the same series; each VTIMEZONE has zoneinfo's offsets.
func TestCalendarFeedReadByIcalendar(t *testing.T) {
	a := newAPI(t)
	long := strings.Repeat("Grüße, Ünïcødé; and a \\ backslash — ", 6)
	desc, _ := json.Marshal("line one\r\nline two\n" + long)
	plain := a.create("alice", `{"title":"Call: Bob, re; \"plans\"","description":`+string(desc)+`,
		"priority":"urgent","tags":["work","a;b","ümlaut"],"due_date":"2031-05-04T09:00:00Z","reminder_time":"2031-05-04T08:45:00Z"}`)
	series := []struct{ name, due, pattern string }{
		// Weekly on Monday and Thursday at 09:00 in Berlin, across the
		// switch to summer time (31 March 2030) and back (27 October).
		{"berlin weekly", "2030-03-14T08:00:00Z", `{"frequency":"weekly","days_of_week":[1,4],"timezone":"Europe/Berlin"}`},
		// The last day of every month at 14:30 in New York.
		{"monthly last day", "2030-01-31T19:30:00Z", `{"frequency":"monthly","day_of_month":-1,"timezone":"America/New_York"}`},
		// Every three days, seven times, in Sydney across the end of its summer time.
		{"count", "2030-03-30T22:00:00Z", `{"frequency":"daily","interval":3,"occurrences":7,"timezone":"Australia/Sydney"}`},
		// An rrule: the second Tuesday of each month until the end of 2031, Los Angeles.
		{"rrule until", "2030-01-08T17:00:00Z", `{"rrule":"FREQ=MONTHLY;BYDAY=2TU;UNTIL=20311231T000000Z","timezone":"America/Los_Angeles"}`},
		// Every other day in UTC until an end date: written in UTC, no VTIMEZONE.
		{"utc end date", "2030-06-01T06:00:00Z", `{"frequency":"daily","interval":2,"end_date":"2030-07-01T06:00:00Z"}`},
	}
	ids := map[string]string{}
	for _, s := range series {
		ids[s.name] = a.create("alice", `{"title":"`+s.name+`","due_date":"`+s.due+`","is_recurring":true,"recurrence_pattern":`+s.pattern+`}`)["id"].(string)
	}
	body := a.feed(a.feedURL("alice", 201)).Body
	checkLines(t, body)
	const limit = 50
	p, raw := parseICS(t, body, limit, 2030, 2037)

	for k, v := range map[string]string{"PRODID": "-//TaskFlow//Calendar feed//EN", "VERSION": "2.0", "CALSCALE": "GREGORIAN", "X-WR-CALNAME": "TaskFlow"} {
		if p.Calendar[k] != v {
			t.Errorf("%s = %q, want %q", k, p.Calendar[k], v)
		}
	}
	if len(p.Todos) != 1+len(series) {
		t.Fatalf("%d VTODOs, want %d", len(p.Todos), 1+len(series))
	}
	byUID := map[string]int{}
	for i, td := range p.Todos {
		byUID[td.UID] = i
	}
	get := func(id string) (int, map[string]any) {
		i, ok := byUID[id]
		if !ok {
			t.Fatalf("no VTODO with UID %s", id)
		}
		return i, raw[i]
	}

	i, r := get(plain["id"].(string))
	td := p.Todos[i]
	if td.Summary != `Call: Bob, re; "plans"` || td.Description != "line one\nline two\n"+long {
		t.Errorf("text: summary %q description %q", td.Summary, td.Description)
	}
	if td.Priority != 1 || td.Status != "NEEDS-ACTION" || !slices.Equal(td.Categories, []string{"work", "a;b", "ümlaut"}) {
		t.Errorf("priority %d status %s categories %q", td.Priority, td.Status, td.Categories)
	}
	if r["due"] != "2031-05-04T09:00:00Z" || r["due_tzid"] != nil || r["rrule"] != nil {
		t.Errorf("due %v (tzid %v), rrule %v", r["due"], r["due_tzid"], r["rrule"])
	}
	if len(td.Alarms) != 1 || td.Alarms[0].Action != "DISPLAY" || td.Alarms[0].Trigger != "2031-05-04T08:45:00Z" {
		t.Errorf("alarms %+v", td.Alarms)
	}
	for _, k := range []string{"dtstamp", "created", "last_modified"} {
		if r[k] == nil {
			t.Errorf("no %s", k)
		}
	}

	for _, s := range series {
		i, r := get(ids[s.name])
		td := p.Todos[i]
		var pat map[string]any
		_ = json.Unmarshal([]byte(s.pattern), &pat)
		zone, _ := pat["timezone"].(string)
		if r["due"] != s.due || r["dtstart"] != s.due {
			t.Errorf("%s: DUE %v DTSTART %v, want %s", s.name, r["due"], r["dtstart"], s.due)
		}
		if zone != "" && r["due_tzid"] != zone || zone == "" && r["due_tzid"] != nil {
			t.Errorf("%s: DUE's TZID %v, want %q", s.name, r["due_tzid"], zone)
		}
		pr := a.do("POST", "/api/recurrence/preview", "alice", `{"due_date":"`+s.due+`","recurrence_pattern":`+s.pattern+`,"count":50}`)
		a.expect(pr, 200, "")
		var want []string
		for _, o := range pr.json(t)["occurrences"].([]any) {
			at, _ := time.Parse(time.RFC3339, o.(map[string]any)["at"].(string))
			want = append(want, at.UTC().Format("2006-01-02T15:04:05Z"))
		}
		if !slices.Equal(td.Occurrences, want) {
			t.Errorf("%s: RRULE %s from DTSTART, expanded by dateutil:\n %v\nTaskFlow's occurrences:\n %v", s.name, td.RRule, td.Occurrences, want)
		}
		if len(want) < 7 {
			t.Errorf("%s: only %d occurrences compared", s.name, len(want))
		}
	}
	if n := len(p.Todos[byUID[ids["count"]]].Occurrences); n != 7 {
		t.Errorf("COUNT=7 gave %d occurrences", n)
	}
	for _, z := range []string{"Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Los_Angeles"} {
		got, ok := p.Timezones[z]
		if !ok || got.Checked == 0 || len(got.Mismatches) > 0 {
			t.Errorf("VTIMEZONE %s: %+v", z, got)
		}
	}
	if _, ok := p.Timezones["UTC"]; ok || len(p.Timezones) != 4 {
		t.Errorf("VTIMEZONEs %v: want one per series zone, none for UTC", p.Timezones)
	}
	berlin := p.Todos[byUID[ids["berlin weekly"]]]
	if berlin.RRule != "FREQ=WEEKLY;BYDAY=MO,TH" {
		t.Errorf("berlin RRULE %q", berlin.RRule)
	}
}
