package task

import (
	"net/url"
	"testing"
)

// FuzzParseInput: any body either fails cleanly or yields a task that passes
// validation again unchanged.
func FuzzParseInput(f *testing.F) {
	for _, s := range []string{`{"title":"a"}`, `{"title":"a","tags":["x","X"],"due_date":"2027-01-01T00:00:00Z"}`,
		`{"title":"a","recurrence_pattern":{"rrule":"FREQ=MONTHLY;BYDAY=2TU"}}`, `{"recurrence_pattern":{"frequency":"weekly","days_of_week":[1]}}`,
		`[]`, `{"title":null}`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, ok, err := ParseInput(body)
		if !ok || err != nil {
			return
		}
		got, err := New("u", in, now)
		if err != nil {
			return
		}
		again := got
		if err := again.Validate(); err != nil || !again.Equal(got) {
			t.Fatalf("valid task changed or failed on revalidation: %v", err)
		}
	})
}

// FuzzParseListQuery: no query string panics, and what parses is within bounds.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"status=active&sort=due_date&order=desc&limit=5", "tags=a,b&tag_mode=all", "cursor=eyJzIjoiIn0", "q=meet&sort=title"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, search bool) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseListQuery(v, search, now)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > MaxLimit || len(q.TagKeys) > MaxFilterTags || len(q.Terms) > MaxSearchTerms {
			t.Fatalf("out of bounds: %+v", q)
		}
		if search && len(q.Terms) == 0 {
			t.Fatal("search without terms accepted")
		}
	})
}
