package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// FuzzHTTP drives the real REST handlers, through the routing and harness the
// functions use, against a real database with hostile requests: NUL and
// invalid UTF-8 in the path, query, headers, token sub and body, huge and
// negative years, odd offsets and duplicate keys. No request may answer a
// 5xx or a body that is not JSON, and a task a create accepted must then be
// readable and listed, with valid JSON. Run it with
// go test ./pkg/handlers -run '^$' -fuzz FuzzHTTP.
func FuzzHTTP(f *testing.F) {
	st, _ := storetest.New(f)
	h, _ := serveEvery(f, st)
	seeds := []struct {
		method, target, header, sub, body string
	}{
		{"POST", "/api/tasks", "", "u", `{"title":"x","due_date":"9999-12-31T23:59:59-23:59"}`},
		{"POST", "/api/tasks", "", "u", `{"title":"x","due_date":"-0001-01-01T00:00:00Z"}`},
		{"POST", "/api/tasks", "", "u", `{"title":"x","due_date":"0000-01-01T00:00:00+00:01","reminder_time":"0000-01-01T00:00:00Z"}`},
		{"POST", "/api/tasks", "", "u", `{"title":"x","due_date":"2027-01-01T00:00:00+24:00"}`},
		{"POST", "/api/tasks", "", "u", `{"title":"one","title":"two"}`},
		{"POST", "/api/tasks", "", "u", `{"title":"a\u0000b","tags":["\u0000"]}`},
		{"POST", "/api/tasks", "", "u", "{\"title\":\"\xff\xfe\",\"description\":\"\xc3\"}"},
		{"POST", "/api/tasks", "Idempotency-Key: \x00\xff", "u", `{"title":"x"}`},
		{"POST", "/api/tasks", "", "u", `{"title":"x","due_date":"2027-01-01T00:00:00Z","recurrence_pattern":{"frequency":"yearly","end_date":"9999-12-31T23:59:59Z","timezone":"Etc/GMT+12"}}`},
		{"POST", "/api/tasks", "", "u", `{"title":"x","due_date":"9999-12-31T23:59:59Z","reminder_time":"9999-12-31T23:59:59Z"}`},
		{"GET", "/api/tasks?tags=%00", "", "u", ""},
		{"GET", "/api/tasks?tags=a%00b&due_before=99999-01-01T00:00:00Z", "", "u", ""},
		{"GET", "/api/tasks/search?q=%FF%00&sort=title&cursor=eyJzIjoidGl0bGUiLCJkIjpmYWxzZSwidiI6Ilx1MDAwMCIsImkiOiIwMTkzZjBjMi0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDAifQ", "", "u", ""},
		{"GET", "/api/tasks?sort=due_date&due_after=9999-12-31T23:59:59-23:59", "", "u", ""},
		{"GET", "/api/tags?foo=1", "", "u", ""},
		{"GET", "/api/tasks", "", "u\x00", ""},
		{"GET", "/api/u%00/tasks", "", "u\x00", ""},
		{"PATCH", "/api/notifications/0193f0c2-0000-7000-8000-000000000000", "", "u", `{"read":true,"read":false}`},
		{"GET", "/api/updates?x=%00", "Last-Event-ID: \xff", "u", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.header, s.sub, []byte(s.body))
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, method, target, header, sub string, body []byte) {
		// Each input is its own user (unless it names a path user), so
		// that the list it checks holds only its own tasks.
		user := sub + "-" + strconv.FormatInt(n.Add(1), 10)
		req, err := http.NewRequest(method, "http://taskflow"+target, strings.NewReader(string(body)))
		if err != nil || !strings.HasPrefix(req.URL.Path, "/api/") || req.URL.Path == "/api/updates" {
			return // not a request a client could send, or the stream (it needs Kafka)
		}
		if k, v, ok := strings.Cut(header, ": "); ok {
			req.Header.Add(k, v)
		}
		req.Header.Set("Content-Type", "application/json")
		tok, err := auth.Sign([]byte(secret), user, time.Now(), time.Hour)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		w := serve(h, req)
		check(t, req, w)
		if method != "POST" || w.Code != http.StatusCreated {
			return
		}
		var created struct{ ID string }
		_ = json.Unmarshal(w.Body.Bytes(), &created)
		get, _ := http.NewRequest("GET", "http://taskflow/api/tasks/"+created.ID, nil)
		list, _ := http.NewRequest("GET", "http://taskflow/api/tasks?sort=due_date&limit=500", nil)
		for _, r := range []*http.Request{get, list} {
			r.Header.Set("Authorization", "Bearer "+tok)
			w := serve(h, r)
			check(t, r, w)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), created.ID) {
				t.Fatalf("a created task is not readable: %s %s -> %d %s", r.Method, r.URL, w.Code, w.Body)
			}
		}
	})
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// check fails on a 5xx and on an answer whose body is not JSON.
func check(t *testing.T, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s %q answered %d: %s", r.Method, r.URL.String(), w.Code, w.Body)
	}
	if w.Code != http.StatusNoContent && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s %q answered %d with a body that is not JSON: %q", r.Method, r.URL.String(), w.Code, w.Body)
	}
}
