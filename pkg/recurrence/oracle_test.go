package recurrence

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

// oracle is what scripts/rrule-oracle.py prints.
type oracle struct {
	TZData *string               `json:"tzdata"`
	Zones  map[string][][3]int64 `json:"zones"`
	Cases  []struct {
		Zone, Kind, RRule string
		Dtstart           time.Time
		Fields            task.Recurrence
		Count, N          int
		Instants          []time.Time
	} `json:"cases"`
}

// oraclePython is a python3 that has python-dateutil and zoneinfo data, or "".
func oraclePython(t *testing.T) string {
	candidates := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("TASKFLOW_PYTHON"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", `import dateutil.rrule, zoneinfo; zoneinfo.ZoneInfo("America/Los_Angeles")`).Run() == nil {
			return p
		}
	}
	return ""
}

// transitionsIn are loc's UTC offset changes in [from, to), as the oracle
// lists them: unix time, offset before, offset after.
func transitionsIn(loc *time.Location, from, to time.Time) [][3]int64 {
	var out [][3]int64
	for cur := from; cur.Before(to); {
		_, before := cur.In(loc).Zone()
		_, end := cur.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		if _, after := end.In(loc).Zone(); after != before {
			out = append(out, [3]int64{end.Unix(), int64(before), int64(after)})
		}
		cur = end
	}
	return out
}

func equalTransitions(a, b [][3]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWallClockOracle compares TaskFlow's occurrences with python-dateutil's
// rrule on zoneinfo zones (scripts/rrule-oracle.py) for series whose
// wall-clock time falls inside each gap and each overlap of every IANA zone
// that changes its UTC offset in 2030–2031, given as an RRULE and as the
// equivalent fields.
//
// Two differences are compensated here, explicitly:
//   - dateutil drops a DTSTART that does not match the rule and counts COUNT
//     from the first match; RFC 5545 §3.3.10 (and TaskFlow) count DTSTART as
//     the first occurrence. The expected series is DTSTART followed by
//     dateutil's instants other than DTSTART, cut to COUNT (rfcOccurrences).
//   - Go and Python may read different tz databases (Go: the system's, else
//     its own; Python: the system's, else the tzdata package). Only zones
//     whose 2030–2031 transitions are identical in both are compared; the
//     others are listed in the log.
func TestWallClockOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("the oracle runs python; not in -short")
	}
	py := oraclePython(t)
	if py == "" {
		t.Skip("no python3 with python-dateutil and zoneinfo data: install Debian's python3-dateutil and tzdata " +
			"(scripts/tools.sh does, as root), or set TASKFLOW_PYTHON")
	}
	cmd := exec.Command(py, "../../scripts/rrule-oracle.py", "2030", "2031")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var o oracle
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	same := map[string]bool{}
	var differ []string
	for zone, ts := range o.Zones {
		loc, err := time.LoadLocation(zone)
		if err == nil && equalTransitions(transitionsIn(loc, from, to), ts) {
			same[zone] = true
		} else {
			differ = append(differ, zone)
		}
	}
	if len(differ) > 0 {
		t.Logf("%d zones skipped: Go's 2030–2031 transitions differ from Python's or the zone is missing: %v", len(differ), differ)
	}
	if len(same) < 100 {
		t.Fatalf("only %d zones with identical transitions (Python's tzdata %v)", len(same), o.TZData)
	}
	kinds := map[string]int{}
	series, instants, bad := 0, 0, 0
	for _, c := range o.Cases {
		if !same[c.Zone] {
			continue
		}
		want := rfcOccurrences(c.Dtstart, c.Instants, c.Count)
		if len(want) > c.N {
			want = want[:c.N]
		}
		for _, p := range []task.Recurrence{{RRule: c.RRule, Timezone: c.Zone}, c.Fields} {
			got, err := Occurrences(p, c.Dtstart, c.N)
			series++
			instants += len(want)
			if err != nil || len(got) != len(want) {
				bad++
				t.Errorf("%s %s from %s (%+v): %v %v, want %v", c.Zone, c.Kind, c.Dtstart, p, got, err, want)
				continue
			}
			for i := range want {
				if !got[i].Equal(want[i]) {
					bad++
					t.Errorf("%s %s, %s from %s: occurrence %d is %s, want %s", c.Zone, c.Kind, c.RRule, c.Dtstart, i, got[i].Format(time.RFC3339), want[i].Format(time.RFC3339))
					break
				}
			}
		}
		kinds[c.Kind]++
		if bad > 20 {
			t.Fatal("too many differences")
		}
	}
	t.Logf("tzdata %v; %d zones; %d gap and %d overlap cases; %d series (RRULE and fields) compared, %d instants",
		ptr(o.TZData), len(same), kinds["gap"], kinds["overlap"], series, instants)
	if kinds["gap"] == 0 || kinds["overlap"] == 0 {
		t.Errorf("no gaps or no overlaps compared: %v", kinds)
	}
}

func ptr(s *string) string {
	if s == nil {
		return "unknown"
	}
	return *s
}
