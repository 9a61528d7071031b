package fn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/errs"
)

// TestMuxPrefersLiteralsAndReports405: routing is net/http.ServeMux's (the
// most specific pattern wins, 405 with Allow, a GET route answers HEAD),
// with TaskFlow's JSON bodies for 404 and 405, a tolerated trailing slash and
// both path styles.
func TestMuxPrefersLiteralsAndReports405(t *testing.T) {
	h := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := name
			if id := r.PathValue("id"); id != "" {
				got += ":" + id
			}
			_, _ = io.WriteString(w, got)
		})
	}
	m := NewMux(nil)
	m.Handle("GET /api/tasks/{id}", h("get"))
	m.Handle("DELETE /api/tasks/{id}", h("delete"))
	m.Handle("GET /api/tasks/search", h("search"))
	m.Handle("PATCH /api/tasks/{id}/complete", h("complete"))
	m.Handle("GET /api/tasks", h("list"))
	cases := []struct {
		method, path, want, allow string
		status                    int
	}{
		{"GET", "/api/tasks/search", "search", "", 200},
		{"GET", "/api/tasks/abc", "get:abc", "", 200},
		{"HEAD", "/api/tasks/abc", "", "", 200},
		{"DELETE", "/api/tasks/abc", "delete:abc", "", 200},
		// A pattern is chosen among those for the request's method: this is
		// the delete route, whose handler finds no task "search" (404).
		{"DELETE", "/api/tasks/search", "delete:search", "", 200},
		{"POST", "/api/tasks/search", `"method_not_allowed"`, "DELETE, GET, HEAD", 405},
		{"PATCH", "/api/tasks/x/complete", "complete:x", "", 200},
		{"GET", "/api/tasks/x/complete", `"method_not_allowed"`, "PATCH", 405},
		{"GET", "/api/tasks/", "list", "", 200}, // a trailing slash is tolerated
		{"GET", "/api/alice/tasks/abc", "get:abc", "", 200},
		{"GET", "/api/tasks//complete", `"not_found"`, "", 404},
		{"GET", "/api/other", `"not_found"`, "", 404},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		body := w.Body.String()
		if w.Code != c.status || !strings.Contains(body, c.want) || w.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s -> %d %q allow %q; want %d %q allow %q", c.method, c.path, w.Code, body,
				w.Header().Get("Allow"), c.status, c.want, c.allow)
		}
		if w.Code >= 400 && w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d without the JSON error body", c.method, c.path, w.Code)
		}
	}
}

func TestSplitUserPath(t *testing.T) {
	cases := map[string][2]string{
		"/api/tasks":                    {"/api/tasks", ""},
		"/api/tasks/abc":                {"/api/tasks/abc", ""},
		"/api/alice/tasks":              {"/api/tasks", "alice"},
		"/api/alice/tasks/x/complete":   {"/api/tasks/x/complete", "alice"},
		"/api/alice/tags":               {"/api/tags", "alice"},
		"/api/alice/recurrence/preview": {"/api/recurrence/preview", "alice"},
		"/api/tasks/tasks":              {"/api/tasks/tasks", ""},
		"/api/alice/other":              {"/api/alice/other", ""},
		"/healthz":                      {"/healthz", ""},
	}
	for in, want := range cases {
		p, u := SplitUserPath(in)
		if p != want[0] || u != want[1] {
			t.Errorf("SplitUserPath(%q) = %q, %q; want %q, %q", in, p, u, want[0], want[1])
		}
	}
}

func TestStatusMapping(t *testing.T) {
	cases := []struct {
		err    error
		status int
	}{
		{errs.InvalidField("x", "bad"), 400},
		{fmt.Errorf("wrap: %w", errs.ErrUnauthenticated), 401},
		{errs.ErrForbidden, 403},
		{fmt.Errorf("%w: x", errs.ErrNotFound), 404},
		{errs.ErrMethodNotAllowed, 405},
		{errs.ErrConflict, 409},
		{errs.ErrPrecondition, 412},
		{&http.MaxBytesError{Limit: 1}, 413},
		{errs.ErrTooLarge, 413},
		{&errs.TooLarge{Message: "the event exceeds a Kafka record"}, 413},
		{errs.ErrUnsupportedMedia, 415},
		{fmt.Errorf("%w: db down", errs.ErrUnavailable), 503},
		{context.DeadlineExceeded, 503},
		{errors.New("a bug"), 500},
	}
	for _, c := range cases {
		status, d := Status(c.err)
		if status != c.status || d.Code == "" || d.Message == "" {
			t.Errorf("Status(%v) = %d %+v, want %d", c.err, status, d, c.status)
		}
		if status >= 500 && strings.Contains(d.Message, "db down") {
			t.Errorf("internal text leaked: %s", d.Message)
		}
	}
}

func TestRecoverAnswers500(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := Recover(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"internal"`) || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("panic answered %d %s", w.Code, w.Body)
	}
}

// TestShutdownDrainsInFlight: a request that is being served when the
// function is told to stop still gets its answer, and readiness turns 503.
func TestShutdownDrainsInFlight(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	started := make(chan struct{})
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	addr := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{Name: "t", Addr: "127.0.0.1:0", Handler: handler, Log: log, Listening: func(a net.Addr) { addr <- a }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	base := "http://" + (<-addr).String()
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request lost: %q", body)
	}
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestMetricsByRoute: /metrics counts each request under the route pattern
// it matched (never the raw path, whose ids would explode the series), with
// its status; unmatched paths are "other"; a streamed response still flushes
// through the status recorder.
func TestMetricsByRoute(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: "metrics-secret-metrics-secret-metrics!"})
	if err != nil {
		t.Fatal(err)
	}
	routes := []Route{
		{Method: http.MethodGet, Pattern: "/api/tasks/{id}", Handle: func(w http.ResponseWriter, r *http.Request, _ string) error {
			return errs.ErrNotFound
		}},
		{Method: http.MethodGet, Pattern: "/api/updates", Stream: true, Handle: func(w http.ResponseWriter, r *http.Request, _ string) error {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: one\n\n")
			return http.NewResponseController(w).Flush()
		}},
	}
	addr := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &Server{Name: "metrics-test", Addr: "127.0.0.1:0", Handler: API(v, log, routes), Log: log,
		Listening: func(a net.Addr) { addr <- a }}
	go func() { _ = srv.Run(ctx) }()
	base := "http://" + (<-addr).String()
	tok, _ := auth.Sign([]byte("metrics-secret-metrics-secret-metrics!"), "u", time.Now(), time.Minute)
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	// The registry is process-wide and other tests in this package count
	// requests too (in any order under -shuffle), so compare before and after.
	series := map[string]int{
		`taskflow_http_request_duration_seconds_count{method="GET",route="/api/tasks/{id}",status="404"}`: 2,
		`taskflow_http_request_duration_seconds_count{method="GET",route="other",status="404"}`:           1,
		`taskflow_http_request_duration_seconds_count{method="GET",route="/api/updates",status="200"}`:    1,
	}
	_, before := get("/metrics")
	get("/api/tasks/0193f0c2-0000-7000-8000-000000000001")
	get("/api/tasks/0193f0c2-0000-7000-8000-000000000002")
	get("/nowhere")
	if status, body := get("/api/updates"); status != 200 || body != "data: one\n\n" {
		t.Errorf("stream: %d %q", status, body)
	}
	_, metrics := get("/metrics")
	for name, delta := range series {
		if got := sampleValue(metrics, name) - sampleValue(before, name); got != delta {
			t.Errorf("%s grew by %d, want %d", name, got, delta)
		}
	}
	if strings.Contains(metrics, "0193f0c2") {
		t.Error("/metrics has a raw path in a label")
	}
}

// TestBodyEncodesBeforeStatus: a response value that does not encode (a time
// in the year 10000, which JSON cannot hold) is a logged 500 with the error
// envelope, never a 200 with an empty body.
func TestBodyEncodesBeforeStatus(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: "encode-secret-encode-secret-encode!!"})
	if err != nil {
		t.Fatal(err)
	}
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	h := API(v, log, []Route{{Method: http.MethodGet, Pattern: "/api/tags", Handle: func(w http.ResponseWriter, r *http.Request, _ string) error {
		return WriteJSON(w, http.StatusOK, map[string]any{"at": far})
	}}})
	tok, _ := auth.Sign([]byte("encode-secret-encode-secret-encode!!"), "u", time.Now(), time.Minute)
	req := httptest.NewRequest("GET", "/api/tags", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Errorf("unencodable body answered %d %q", w.Code, w.Body)
	}
	if !strings.Contains(logged.String(), "request failed") {
		t.Errorf("the 500 was not logged: %s", logged.String())
	}
}

// TestStatusShowsOnlyPublicWords: a client sees an error's public message or
// its kind's fixed text, never the text of a cause wrapped under it (a
// driver's, a constraint's, a library's), whatever the status.
func TestStatusShowsOnlyPublicWords(t *testing.T) {
	cause := errors.New(`pq: duplicate key value violates unique constraint "secret_internal_name"`)
	cases := []struct {
		err  error
		want string
	}{
		{errs.Wrap(errs.ErrConflict, "duplicate idempotency key", cause), "conflict: duplicate idempotency key"},
		{fmt.Errorf("%w: %w", errs.ErrConflict, cause), "conflict"},
		{fmt.Errorf("%w: %w", errs.ErrForbidden, cause), "forbidden"},
		{fmt.Errorf("%w: %w", errs.ErrUnauthenticated, cause), "unauthenticated"},
		{fmt.Errorf("%w: %w", errs.ErrTooMany, cause), "too many requests"},
		{errs.With(errs.ErrUnauthenticated, "token expired"), "unauthenticated: token expired"},
	}
	for _, c := range cases {
		if _, d := Status(c.err); d.Message != c.want {
			t.Errorf("Status(%v) shows %q, want %q", c.err, d.Message, c.want)
		}
	}
}

// sampleValue is the integer value of one series in a Prometheus text
// exposition, or 0 when the series is absent.
func sampleValue(exposition, series string) int {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
