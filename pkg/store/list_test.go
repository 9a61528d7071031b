package store

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

// FuzzBuildList checks that no request value ever reaches the SQL text: with
// the builder's own literals removed, no quote, comment or statement break is
// left, and every placeholder has its argument.
func FuzzBuildList(f *testing.F) {
	for _, s := range []string{"sort=due_date&order=desc&tags=a,b", "q=x'y&sort=title", "priority=high&overdue=true&due_before=2027-01-01T00:00:00Z",
		"status=active&cursor=" + task.Cursor{Sort: task.SortCreated, Value: "2027-01-01T00:00:00Z", ID: "0193f0c2-0000-7000-8000-000000000000"}.Encode()} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, search bool) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := task.ParseListQuery(v, search, time.Unix(0, 0))
		if err != nil {
			return
		}
		b := BuildList("user'; DROP TABLE tasks; --", q)
		sql := b.SQL
		for _, lit := range []string{"'simple'", "'infinity'::timestamptz", "'-infinity'::timestamptz", "'active'"} {
			sql = strings.ReplaceAll(sql, lit, "")
		}
		if strings.ContainsAny(sql, "';\\") || strings.Contains(sql, "--") || strings.Contains(sql, "/*") {
			t.Fatalf("request data in SQL: %s", b.SQL)
		}
		if !strings.Contains(b.SQL, "$"+strconv.Itoa(len(b.Args))) || strings.Contains(b.SQL, "$"+strconv.Itoa(len(b.Args)+1)) {
			t.Fatalf("placeholders and %d args disagree: %s", len(b.Args), b.SQL)
		}
		if !strings.HasPrefix(b.SQL, "SELECT ") || !strings.Contains(b.SQL, " WHERE user_id = $1") {
			t.Fatalf("not scoped by user: %s", b.SQL)
		}
	})
}
