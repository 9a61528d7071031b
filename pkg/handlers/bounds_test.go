package handlers_test

import (
	"net/url"
	"slices"
	"testing"
)

// titles lists every page of path (limit=1, following next_cursor) and
// returns the titles in order.
func (a *api) titles(path string) []string {
	a.t.Helper()
	var out []string
	cursor := ""
	for range 20 {
		r := a.do("GET", path+cursor, "alice", "")
		a.expect(r, 200, "")
		m := r.json(a.t)
		for _, it := range m["items"].([]any) {
			out = append(out, it.(map[string]any)["title"].(string))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = "&cursor=" + url.QueryEscape(next)
	}
	a.t.Fatalf("%s: more than 20 pages", path)
	return nil
}

// TestDueBoundsAreInclusive: due_after ≤ due_date ≤ due_before (API.md §4),
// on the list, the filter and the search endpoints, in every sort and order,
// and across keyset pages; a bound finer than PostgreSQL's microseconds
// compares with the due date as it is stored and shown.
func TestDueBoundsAreInclusive(t *testing.T) {
	a := newAPI(t)
	for _, c := range [][2]string{
		{"before", "2031-12-31T23:59:58Z"}, {"at", "2031-12-31T23:59:59Z"}, {"at too", "2031-12-31T23:59:59Z"},
		{"after", "2032-01-01T00:00:00Z"}, {"fine", "2031-06-01T12:00:00.123456789Z"},
	} {
		a.create("alice", `{"title":"`+c[0]+`","description":"word","due_date":"`+c[1]+`"}`)
	}
	const at = "2031-12-31T23:59:59Z"
	cases := []struct {
		query string
		want  []string
	}{
		{"due_before=" + at, []string{"fine", "before", "at", "at too"}},
		{"due_after=" + at, []string{"at", "at too", "after"}},
		{"due_after=" + at + "&due_before=" + at, []string{"at", "at too"}},
		{"due_after=2031-06-01T12:00:00.123456789Z&due_before=" + at, []string{"before", "at", "at too"}},
		{"due_after=2031-06-01T12:00:00.123456Z&due_before=2031-06-01T12:00:00.123456Z", []string{"fine"}},
		{"due_after=2031-06-01T12:00:00.1234561Z&due_before=2031-06-01T12:00:00.123456999Z", nil},
		{"due_before=2031-06-01T12:00:00.123456999Z", []string{"fine"}},
		{"due_before=2031-06-01T12:00:00.1234559Z", nil},
	}
	for _, c := range cases {
		for _, path := range []string{"/api/tasks", "/api/tasks/filter", "/api/tasks/search"} {
			for _, sort := range []string{"due_date&order=asc", "due_date&order=desc", "title", "created_at&order=desc"} {
				q := c.query + "&limit=1&sort=" + sort
				if path == "/api/tasks/search" {
					q += "&q=word"
				}
				got := a.titles(path + "?" + q)
				want := slices.Clone(c.want)
				switch sort {
				case "due_date&order=desc": // ties break by id, descending too
					slices.Reverse(want)
				case "title", "created_at&order=desc":
					slices.Sort(want)
					slices.Sort(got)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s?%s: %q, want %q", path, q, got, want)
				}
			}
		}
	}
}
