package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/task"
)

const testSecret = "load-tool-test-secret-of-32-bytes-or-more"

func TestParseRefusesBadCommandLines(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{nil, "usage: taskflow-load seed|create|"},
		{[]string{"bogus"}, `unknown mode "bogus"`},
		{[]string{"create", "-clients"}, "flag needs an argument"},
		{[]string{"create", "-nonsense", "1"}, "not defined: -nonsense"},
		{[]string{"create", "stray"}, "unexpected arguments"},
		{[]string{"create", "-clients", "0"}, "-clients must be at least 1"},
		{[]string{"create", "-api", "http://10.0.0.7:8080"}, "only loopback addresses"},
		{[]string{"search", "-api", "http://example.com"}, "only loopback addresses"},
		{[]string{"filter", "-api", "http://192.168.1.2"}, "only loopback addresses"},
		{[]string{"events", "-rate", "0"}, "-rate must be 1..5000"},
		{[]string{"streams", "-rate", "1001"}, "-rate must be 1..1000"},
		{[]string{"schedcost", "-rate", "-1"}, "-rate must be 0..1000"},
	} {
		_, _, err := parse(tc.args, io.Discard)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q): %v; want a usage error with %q", tc.args, err, tc.want)
		}
	}
}

func TestParseAcceptsLoopbackAndEachMode(t *testing.T) {
	for _, api := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2"} {
		if _, o, err := parse([]string{"create", "-api", api, "-clients", "32", "-duration", "5s"}, io.Discard); err != nil {
			t.Errorf("-api %s: %v", api, err)
		} else if o.api != api || o.clients != 32 || o.duration != 5*time.Second {
			t.Errorf("-api %s: options %+v", api, o)
		}
	}
	for _, m := range modes {
		if run, _, err := parse([]string{m.name, "-api", "http://127.0.0.1:1"}, io.Discard); err != nil || run == nil {
			t.Errorf("mode %s: %v", m.name, err)
		}
	}
	if _, _, err := parse([]string{"schedcost", "-rate", "0"}, io.Discard); err != nil {
		t.Errorf("schedcost -rate 0 (back to back): %v", err)
	}
}

func TestCLIExitStatus(t *testing.T) {
	var stderr bytes.Buffer
	if got := cli(context.Background(), []string{"bogus"}, io.Discard, &stderr); got != 2 {
		t.Errorf("unknown mode: exit %d; want 2", got)
	}
	if !strings.Contains(stderr.String(), "usage: taskflow-load") {
		t.Errorf("unknown mode: stderr %q lacks the usage line", stderr.String())
	}
	stderr.Reset()
	if got := cli(context.Background(), []string{"create", "-api", "http://10.0.0.7"}, io.Discard, &stderr); got != 2 ||
		!strings.Contains(stderr.String(), "refusing to load http://10.0.0.7") {
		t.Errorf("non-loopback -api: exit %d, stderr %q; want 2 and a refusal", got, stderr.String())
	}
	if got := cli(context.Background(), []string{"create", "-h"}, io.Discard, io.Discard); got != 0 {
		t.Errorf("-h: exit %d; want 0", got)
	}
	// A mode that fails exits 1: seed needs DATABASE_URL.
	t.Setenv("DATABASE_URL", "")
	stderr.Reset()
	if got := cli(context.Background(), []string{"seed"}, io.Discard, &stderr); got != 1 || !strings.Contains(stderr.String(), "DATABASE_URL") {
		t.Errorf("seed without a database: exit %d, stderr %q; want 1", got, stderr.String())
	}
}

// fakeAPI is a loopback REST API that checks what the load tool sends.
type fakeAPI struct {
	t        *testing.T
	verifier *auth.Verifier
	user     string

	mu       sync.Mutex
	requests int
	created  int      // 201s answered
	failed   int      // 500s answered
	bad      []string // requests the real API would refuse
	paths    []string
}

func newFakeAPI(t *testing.T, user string) *fakeAPI {
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeAPI{t: t, verifier: v, user: user}
}

func (f *fakeAPI) refuse(w http.ResponseWriter, format string, args ...any) {
	f.mu.Lock()
	f.bad = append(f.bad, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	http.Error(w, "bad request", http.StatusBadRequest)
}

// authorized checks the bearer token names f.user.
func (f *fakeAPI) authorized(w http.ResponseWriter, r *http.Request) bool {
	sub, err := f.verifier.Verify(r.Header.Get("Authorization"))
	if err != nil || sub != f.user {
		f.refuse(w, "%s %s: token for %q: %v", r.Method, r.URL, sub, err)
		return false
	}
	return true
}

// create checks a create body as the API would and answers 201, except
// that every fifth create is a 500.
func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.refuse(w, "create with Content-Type %q", ct)
		return
	}
	body, _ := io.ReadAll(r.Body)
	in, _, err := task.ParseInput(body)
	if err == nil {
		_, err = task.New(f.user, in, time.Now())
	}
	if err != nil || !in.Title.Set {
		f.refuse(w, "create body %s: %v", body, err)
		return
	}
	f.mu.Lock()
	f.requests++
	fail := f.requests%5 == 0
	if fail {
		f.failed++
	} else {
		f.created++
	}
	f.mu.Unlock()
	if fail {
		http.Error(w, `{"error":{"code":"internal"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id":%q}`, uuid.NewString())
}

// figures reads name=number pairs from the tool's output line.
func figures(t *testing.T, out, prefix string) map[string]int {
	t.Helper()
	line, ok := "", false
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			line, ok = l, true
		}
	}
	if !ok {
		t.Fatalf("no %q line in %q", prefix, out)
	}
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`(\w+)=(\d+)[ /]`).FindAllStringSubmatch(line+" ", -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	return got
}

func TestCreateSendsValidCreatesAndCountsAnswers(t *testing.T) {
	f := newFakeAPI(t, "load-writer")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/tasks", f.create)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var out, stderr bytes.Buffer
	code := cli(context.Background(), []string{"create", "-api", srv.URL, "-secret", testSecret, "-user", "load-writer",
		"-clients", "2", "-duration", "300ms"}, &out, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		t.Fatalf("%d requests the API would refuse, first: %s", len(f.bad), f.bad[0])
	}
	got := figures(t, out.String(), "create: ")
	if f.created == 0 || f.failed == 0 {
		t.Fatalf("the server answered %d creates and %d failures; the run is too short to tell", f.created, f.failed)
	}
	if got["clients"] != 2 || got["requests"] != f.created || got["errors"] != f.failed {
		t.Errorf("printed %q; want clients=2 requests=%d errors=%d", out.String(), f.created, f.failed)
	}
	if !regexp.MustCompile(`elapsed=0\.[34]s throughput=\d+/s p50=[\d.]+ms p95=[\d.]+ms p99=[\d.]+ms max=[\d.]+ms\n$`).MatchString(out.String()) {
		t.Errorf("output %q is not in BENCHMARKS.md's format", out.String())
	}
}

func TestSearchAndFilterSendValidQueries(t *testing.T) {
	f := newFakeAPI(t, "bench-user")
	queries := map[string]int{}
	list := func(search bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !f.authorized(w, r) {
				return
			}
			if _, err := task.ParseListQuery(r.URL.Query(), search, time.Now()); err != nil {
				f.refuse(w, "%s: %v", r.URL, err)
				return
			}
			if search && strings.TrimSpace(r.URL.Query().Get("q")) == "" {
				f.refuse(w, "%s: no search terms", r.URL)
				return
			}
			f.mu.Lock()
			f.requests++
			queries[r.URL.RawQuery]++
			f.mu.Unlock()
			_, _ = io.WriteString(w, `{"items":[]}`)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/tasks", list(false))
	mux.HandleFunc("GET /api/tasks/search", list(true))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, mode := range []string{"search", "filter"} {
		var out, stderr bytes.Buffer
		if code := cli(context.Background(), []string{mode, "-api", srv.URL, "-secret", testSecret, "-clients", "3", "-requests", "120"}, &out, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", mode, code, stderr.String())
		}
		if got := figures(t, out.String(), mode+": "); got["requests"] != 120 || got["errors"] != 0 || got["clients"] != 3 {
			t.Errorf("%s printed %q; want clients=3 requests=120 errors=0", mode, out.String())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		t.Fatalf("%d requests the API would refuse, first: %s", len(f.bad), f.bad[0])
	}
	if f.requests != 240 {
		t.Errorf("the server saw %d requests; want 240", f.requests)
	}
	for _, q := range filterQueries {
		if queries[q] == 0 {
			t.Errorf("120 filter requests never asked for %q", q)
		}
	}
}

func TestSuccessorsTimesCompleteToSuccessor(t *testing.T) {
	f := newFakeAPI(t, "bench-user")
	completed := map[string]time.Time{} // id -> when its complete arrived
	tagOf := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/tasks", func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		in, _, err := task.ParseInput(body)
		if err == nil {
			_, err = task.New(f.user, in, time.Now())
		}
		if err != nil || in.Tags.Value == nil || len(*in.Tags.Value) != 1 || in.Recurrence.Value == nil {
			f.refuse(w, "create body %s: %v", body, err)
			return
		}
		id := uuid.NewString()
		f.mu.Lock()
		tagOf[id] = (*in.Tags.Value)[0]
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q}`, id)
	})
	mux.HandleFunc("PATCH /api/tasks/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(w, r) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.PathValue("id")
		if _, ok := tagOf[id]; !ok || strings.HasSuffix(tagOf[id], "-3") { // the fourth task cannot be completed
			http.Error(w, "conflict", http.StatusConflict)
			return
		}
		completed[tagOf[id]] = time.Now()
		_, _ = io.WriteString(w, `{}`)
	})
	// A successor shows up 30 ms after its predecessor's complete.
	mux.HandleFunc("GET /api/tasks", func(w http.ResponseWriter, r *http.Request) {
		if !f.authorized(w, r) {
			return
		}
		f.mu.Lock()
		at, ok := completed[r.URL.Query().Get("tags")]
		f.mu.Unlock()
		if ok && time.Since(at) >= 30*time.Millisecond && r.URL.Query().Get("status") == "active" {
			_, _ = io.WriteString(w, `{"items":[{}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"items":[]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var out, stderr bytes.Buffer
	if code := cli(context.Background(), []string{"successors", "-api", srv.URL, "-secret", testSecret, "-clients", "2", "-requests", "6"}, &out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		t.Fatalf("%d requests the API would refuse, first: %s", len(f.bad), f.bad[0])
	}
	got := figures(t, out.String(), "successors: ")
	if got["completed"] != 6 || got["visible"] != 5 || got["failed"] != 1 {
		t.Errorf("printed %q; want completed=6 visible=5 failed=1", out.String())
	}
	if !strings.Contains(out.String(), "complete failed: 409") {
		t.Errorf("output %q does not report the failed complete", out.String())
	}
	// Every successor took at least the server's 30 ms.
	p50 := regexp.MustCompile(`p50=([\d.]+)ms`).FindStringSubmatch(out.String())
	if p50 == nil {
		t.Fatalf("no p50 in %q", out.String())
	}
	if v, _ := strconv.ParseFloat(p50[1], 64); v < 30 || v > 1000 {
		t.Errorf("complete->successor p50 %s ms; the server shows successors after 30 ms", p50[1])
	}
}

// TestFirstScreenSumsTheScreensRequests: firstscreen sends the web app's
// first-screen requests in order, each once per screen, and reports a
// screen's time as the sum of its requests' (each answered after 2 ms here,
// so no screen can take less than 10 ms); one failing request fails its screen.
func TestFirstScreenSumsTheScreensRequests(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		seen[r.URL.RequestURI()]++
		n := seen[r.URL.RequestURI()]
		mu.Unlock()
		if r.URL.Path == "/api/tags" && n == 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	var out, stderr bytes.Buffer
	if code := cli(context.Background(), []string{"firstscreen", "-api", srv.URL, "-secret", testSecret, "-requests", "5"}, &out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := figures(t, out.String(), "firstscreen: ")
	m := regexp.MustCompile(`p50=(\d+)\.`).FindStringSubmatch(out.String())
	if len(m) < 2 {
		t.Fatalf("no p50 in %q", out.String())
	}
	if p50, _ := strconv.Atoi(m[1]); got["requests"] != 4 || got["errors"] != 1 || p50 < 10 {
		t.Errorf("printed %q; want requests=4 errors=1 p50 ≥ 10 ms", out.String())
	}
	for _, path := range firstScreen {
		if seen[path] < 4 {
			t.Errorf("%s sent %d times in 5 screens", path, seen[path])
		}
	}
}

// TestSignInSignsUpOnceThenSignsIn: signin makes one account, then times
// only the sign-ins, each sent with TaskFlow's own Origin; a refused
// sign-in is an error, not a figure.
func TestSignInSignsUpOnceThenSignsIn(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		counts[r.URL.Path]++
		n := counts[r.URL.Path]
		mu.Unlock()
		if r.Header.Get("Origin") != srvURL || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if r.URL.Path == "/api/auth/sign-in/email" && n == 2 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `{"token":"t"}`)
	}))
	defer srv.Close()
	srvURL = srv.URL
	var out, stderr bytes.Buffer
	if code := cli(context.Background(), []string{"signin", "-api", srv.URL, "-secret", testSecret, "-requests", "6"}, &out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := figures(t, out.String(), "signin: ")
	if got["requests"] != 5 || got["errors"] != 1 || counts["/api/auth/sign-up/email"] != 1 || counts["/api/auth/sign-in/email"] != 6 {
		t.Errorf("printed %q after %v; want requests=5 errors=1, one sign-up and six sign-ins", out.String(), counts)
	}
}
