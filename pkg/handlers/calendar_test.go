package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// feedURL asks for user's calendar feed (POST /api/calendar/feed) and
// returns the path of its URL, checking the status.
func (a *api) feedURL(user string, status int) string {
	a.t.Helper()
	r := a.do("POST", "/api/calendar/feed", user, "")
	a.expect(r, status, "")
	raw, _ := r.json(a.t)["url"].(string)
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(raw, a.srv.URL+"/api/calendar/") || !strings.HasSuffix(u.Path, ".ics") {
		a.t.Fatalf("feed url %q: want %s/api/calendar/<secret>.ics", raw, a.srv.URL)
	}
	if !regexp.MustCompile(`^/api/calendar/[A-Za-z0-9_-]{43}\.ics$`).MatchString(u.Path) {
		a.t.Fatalf("feed path %q: want 43 base64url characters (32 random bytes)", u.Path)
	}
	return u.Path
}

// feed fetches a feed without credentials and checks a 200 calendar.
func (a *api) feed(path string, headers ...string) resp {
	a.t.Helper()
	r := a.do("GET", path, "", "", headers...)
	if r.Status != http.StatusOK {
		a.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		a.t.Fatalf("Content-Type %q", ct)
	}
	return r
}

func TestCalendarFeedCreateRotateRevoke(t *testing.T) {
	a := newAPI(t)
	a.expect(a.do("POST", "/api/calendar/feed", "", ""), 401, "unauthenticated")
	a.expect(a.do("DELETE", "/api/calendar/feed", "", ""), 401, "unauthenticated")
	a.create("alice", `{"title":"Pay rent","due_date":"2031-05-04T09:00:00Z"}`)

	first := a.feedURL("alice", 201)
	body := string(a.feed(first).Body)
	if !strings.Contains(body, "SUMMARY:Pay rent\r\n") || !strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") {
		t.Fatalf("feed:\n%s", body)
	}
	if n := a.rows(`SELECT count(*) FROM calendar_feeds WHERE user_id = 'alice' AND length(secret_hash) = 32`); n != 1 {
		t.Fatalf("%d feeds stored", n)
	}
	secret := strings.TrimSuffix(strings.TrimPrefix(first, "/api/calendar/"), ".ics")
	if n := a.rows(`SELECT count(*) FROM calendar_feeds WHERE position(convert_to('` + secret + `', 'UTF8') in secret_hash) > 0`); n != 0 {
		t.Fatal("the secret itself is stored")
	}

	second := a.feedURL("alice", 200) // rotation
	if second == first {
		t.Fatal("rotation kept the secret")
	}
	a.expect(a.do("GET", first, "", ""), 404, "not_found")
	a.feed(second)
	if n := a.rows(`SELECT count(*) FROM calendar_feeds`); n != 1 {
		t.Fatalf("%d feeds after rotation, want one per user", n)
	}

	a.expect(a.do("DELETE", "/api/calendar/feed", "alice", ""), 204, "")
	a.expect(a.do("GET", second, "", ""), 404, "not_found")
	a.expect(a.do("GET", first, "", ""), 404, "not_found")
	a.expect(a.do("DELETE", "/api/calendar/feed", "alice", ""), 204, "") // none left: still 204
	third := a.feedURL("alice", 201)                                     // a new feed after revoking
	a.feed(third)

	for _, p := range []string{"/api/calendar/nope.ics", "/api/calendar/" + strings.Repeat("A", 43),
		"/api/calendar/" + strings.Repeat("A", 43) + ".ics", "/api/calendar/" + strings.Repeat("*", 43) + ".ics",
		"/api/calendar/feed"} {
		a.expect(a.do("GET", p, "", ""), 404, "not_found")
	}
	// A bearer token does not open a feed: the secret is the credential.
	a.expect(a.do("GET", "/api/calendar/"+strings.Repeat("A", 43)+".ics", "alice", ""), 404, "not_found")
}

func TestCalendarFeedIsolationAndActiveOnly(t *testing.T) {
	a := newAPI(t)
	mine := a.create("alice", `{"title":"alice open"}`)["id"].(string)
	done := a.create("alice", `{"title":"alice done"}`)["id"].(string)
	a.expect(a.do("PATCH", "/api/tasks/"+done+"/complete", "alice", ""), 200, "")
	theirs := a.create("bob", `{"title":"bob open"}`)["id"].(string)

	alice, bob := a.feedURL("alice", 201), a.feedURL("bob", 201)
	ab, bb := string(a.feed(alice).Body), string(a.feed(bob).Body)
	if !strings.Contains(ab, "UID:"+mine) || strings.Contains(ab, theirs) || strings.Contains(ab, "bob open") {
		t.Errorf("alice's feed:\n%s", ab)
	}
	if strings.Contains(ab, done) || strings.Contains(ab, "alice done") {
		t.Errorf("a completed task is in the feed:\n%s", ab)
	}
	if !strings.Contains(bb, "UID:"+theirs) || strings.Contains(bb, mine) || strings.Contains(bb, "alice") {
		t.Errorf("bob's feed:\n%s", bb)
	}
	if strings.Count(ab, "BEGIN:VTODO") != 1 || strings.Count(bb, "BEGIN:VTODO") != 1 {
		t.Errorf("VTODOs: alice %d, bob %d", strings.Count(ab, "BEGIN:VTODO"), strings.Count(bb, "BEGIN:VTODO"))
	}
	// Revoking bob's feed leaves alice's.
	a.expect(a.do("DELETE", "/api/calendar/feed", "bob", ""), 204, "")
	a.feed(alice)
	a.expect(a.do("GET", bob, "", ""), 404, "not_found")
}

func TestCalendarFeedETag(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"one"}`)["id"].(string)
	path := a.feedURL("alice", 201)
	r := a.feed(path)
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r2 := a.feed(path); r2.Header.Get("ETag") != etag || string(r2.Body) != string(r.Body) {
		t.Fatal("an unchanged feed changed")
	}
	nm := a.do("GET", path, "", "", "If-None-Match: "+etag)
	if nm.Status != 304 || len(nm.Body) != 0 || nm.Header.Get("ETag") != etag {
		t.Fatalf("If-None-Match: %d %q", nm.Status, nm.Body)
	}
	if a.do("GET", path, "", "", `If-None-Match: W/`+etag).Status != 304 {
		t.Fatal("weak If-None-Match: RFC 9110 compares weakly")
	}
	steps := []struct {
		name string
		do   func()
	}{
		{"edit", func() { a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"title":"one, edited"}`), 200, "") }},
		{"create", func() { a.create("alice", `{"title":"two"}`) }},
		{"complete", func() { a.expect(a.do("PATCH", "/api/tasks/"+id+"/complete", "alice", ""), 200, "") }},
	}
	for _, s := range steps {
		s.do()
		r := a.do("GET", path, "", "", "If-None-Match: "+etag)
		if r.Status != 200 || r.Header.Get("ETag") == etag {
			t.Fatalf("after %s: %d, ETag %s", s.name, r.Status, r.Header.Get("ETag"))
		}
		etag = r.Header.Get("ETag")
	}
	// Another user's change does not change alice's feed.
	a.create("bob", `{"title":"bob's"}`)
	if a.do("GET", path, "", "", "If-None-Match: "+etag).Status != 304 {
		t.Fatal("bob's task changed alice's ETag")
	}
}
