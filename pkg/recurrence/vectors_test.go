package recurrence

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

type vector struct {
	name, rule string
	dtstart    time.Time
	want       []time.Time
}

func loadVectors(t *testing.T, path string) []vector {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parse := func(s string) time.Time {
		v, err := time.Parse("20060102T150405Z", s)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v
	}
	var out []vector
	var v vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		switch key {
		case "NAME":
			v = vector{name: val}
		case "DTSTART":
			v.dtstart = parse(val)
		case "RRULE":
			v.rule = val
		case "WANT":
			for _, s := range strings.Fields(val) {
				v.want = append(v.want, parse(s))
			}
			out = append(out, v)
		}
	}
	return out
}

// TestDateutilVectors runs the python-dateutil cases that rrule-go carries
// (testdata/rrule-go-dateutil.txt) through TaskFlow's own path: the pattern
// validates as a task's RRULE, Rule yields exactly the listed occurrences,
// and Next steps from each occurrence to the one after it.
func TestDateutilVectors(t *testing.T) {
	vectors := loadVectors(t, "testdata/rrule-go-dateutil.txt")
	if len(vectors) < 100 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			p := task.Recurrence{RRule: v.rule, Timezone: "UTC"}
			due := v.dtstart
			tk := task.Task{Title: "x", Priority: task.Medium, Status: task.Active, Tags: []string{}, DueDate: &due, IsRecurring: true, Recurrence: &p}
			if err := tk.Validate(); err != nil {
				t.Fatalf("RRULE %s refused: %v", v.rule, err)
			}
			r, err := Rule(p, v.dtstart)
			if err != nil {
				t.Fatal(err)
			}
			it := r.Iterator()
			var got []time.Time
			for range len(v.want) + 1 {
				o, ok := it()
				if !ok {
					break
				}
				got = append(got, o)
			}
			if len(got) != len(v.want) {
				t.Fatalf("%s: %d occurrences, want %d", v.rule, len(got), len(v.want))
			}
			for i := range got {
				if !got[i].Equal(v.want[i]) {
					t.Fatalf("%s: occurrence %d is %s, want %s", v.rule, i, got[i], v.want[i])
				}
			}
			for i := 0; i+1 < len(v.want); i++ {
				next, ok, err := Next(p, v.dtstart, v.want[i])
				if err != nil || !ok || !next.Equal(v.want[i+1]) {
					t.Fatalf("Next after %s = %s %v %v, want %s", v.want[i], next, ok, err, v.want[i+1])
				}
			}
			if n := len(v.want); n > 0 {
				if _, ok, _ := Next(p, v.dtstart, v.want[n-1]); ok && (strings.Contains(v.rule, "COUNT") || strings.Contains(v.rule, "UNTIL")) {
					t.Errorf("an occurrence after the last of a bounded series")
				}
			}
		})
	}
}
