package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const secret = "test-secret-test-secret-test-secret!"

type api struct {
	t   *testing.T
	srv *httptest.Server
	db  string
}

func newAPI(t *testing.T) *api {
	t.Helper()
	st, url := storetest.New(t)
	h, _ := serveEvery(t, st)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, db: url}
}

// serveEvery serves every REST route on st through the harness the
// functions use (tokens signed with secret, the body limit), and returns the
// dependencies the handlers were given.
func serveEvery(tb testing.TB, st *store.Store) (http.Handler, *fn.Deps) {
	tb.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &fn.Deps{Store: st, Log: log, Now: time.Now}
	return fn.LimitBody(fn.API(v, log, handlers.Every(d))), d
}

func token(t *testing.T, user string) string {
	tok, err := auth.Sign([]byte(secret), user, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %s", r.Status, r.Body)
	}
	return m
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error envelope in %s", r.Body)
	}
	return e["code"].(string)
}

// do sends a request as user ("" for none) with optional headers as "K: V".
func (a *api) do(method, path, user, body string, headers ...string) resp {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(a.t, user))
	}
	given := map[string]bool{} // a header listed twice is sent twice; once, it replaces the default
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if given[k] {
			req.Header.Add(k, v)
		} else {
			req.Header.Set(k, v)
		}
		given[k] = true
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (a *api) create(user, body string) map[string]any {
	a.t.Helper()
	r := a.do("POST", "/api/tasks", user, body)
	if r.Status != http.StatusCreated {
		a.t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	return r.json(a.t)
}

// rows counts rows straight from the database.
func (a *api) rows(sql string) int64 {
	a.t.Helper()
	return storetest.Count(a.t, a.db, sql)
}

func (a *api) expect(r resp, status int, code string) {
	a.t.Helper()
	if r.Status != status {
		a.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if code != "" && r.errCode(a.t) != code {
		a.t.Fatalf("code %s, want %s", r.errCode(a.t), code)
	}
	if strings.Contains(string(r.Body), "SQL") || strings.Contains(string(r.Body), "pgx") || strings.Contains(string(r.Body), ".go:") {
		a.t.Fatalf("internal detail leaked: %s", r.Body)
	}
}
