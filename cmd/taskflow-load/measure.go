package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
)

func client(o options) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.clients * 2, MaxIdleConnsPerHost: o.clients * 2, IdleConnTimeout: time.Minute}}
}

func bearer(o options) (string, error) {
	tok, err := auth.Sign([]byte(o.secret), o.user, time.Now(), 2*time.Hour)
	return "Bearer " + tok, err
}

// api sends requests to the REST API at o.api as o.user.
type api struct {
	base, token string
	c           *http.Client
}

func newAPI(o options) (*api, error) {
	tok, err := bearer(o)
	if err != nil {
		return nil, err
	}
	return &api{base: o.api, token: tok, c: client(o)}, nil
}

// do sends one request, with body as JSON unless it is empty, and reads the
// whole answer; d is the time from sending it to the end of the answer.
func (a *api) do(ctx context.Context, method, path, body string) (status int, b []byte, d time.Duration, err error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", a.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	res, err := a.c.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer res.Body.Close()
	b, err = io.ReadAll(res.Body)
	return res.StatusCode, b, time.Since(t0), err
}

// expect is do for a request that must answer want: anything else is an error.
func (a *api) expect(ctx context.Context, want int, method, path, body string) (time.Duration, []byte, error) {
	status, b, d, err := a.do(ctx, method, path, body)
	if err == nil && status != want {
		err = fmt.Errorf("%s %s answered %d: %.200s", method, path, status, b)
	}
	return d, b, err
}

// creates posts tasks for o.duration (bounded: at most 1,000,000 requests).
func creates(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	w := newWords(rand.New(rand.NewPCG(o.seed, 7)))
	var mu sync.Mutex
	p := pool{Clients: o.clients, Requests: 1_000_000, Duration: o.duration, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, _ int, r *rand.Rand) (time.Duration, error) {
		mu.Lock()
		title, desc := w.phrase(2+r.IntN(4)), w.phrase(r.IntN(10))
		mu.Unlock()
		body := fmt.Sprintf(`{"title":%q,"description":%q,"priority":"high","tags":["work","q%d"],"due_date":"2027-03-01T09:00:00Z"}`,
			title, desc, 1+r.IntN(4))
		d, _, err := a.expect(ctx, http.StatusCreated, http.MethodPost, "/api/tasks", body)
		return d, err
	})
	if err != nil {
		return err
	}
	res.report(o.out, "create", o.clients)
	return nil
}

// searches runs o.requests keyword searches for o.user with terms drawn from
// the data set's vocabulary at its own word frequencies: one word, or (three
// times in ten) a word and the first four letters of another, as typed.
func searches(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	w := newWords(rand.New(rand.NewPCG(o.seed, 7)))
	var mu sync.Mutex
	p := pool{Clients: o.clients, Requests: o.requests, Duration: 10 * time.Minute, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, _ int, r *rand.Rand) (time.Duration, error) {
		mu.Lock()
		q := w.pick()
		if r.IntN(10) < 3 {
			q += " " + w.pick()[:4]
		}
		mu.Unlock()
		d, _, err := a.expect(ctx, http.StatusOK, http.MethodGet, "/api/tasks/search?q="+url.QueryEscape(q), "")
		return d, err
	})
	if err != nil {
		return err
	}
	res.report(o.out, "search", o.clients)
	return nil
}

// filterQueries are first pages a task app asks for: filtered and sorted.
var filterQueries = []string{
	"status=active&sort=due_date",
	"status=active&priority=high,urgent&sort=due_date",
	"tags=work&sort=priority&order=desc",
	"overdue=true&sort=due_date",
	"status=completed&sort=updated_at&order=desc",
	"tags=home,errands&tag_mode=any&status=active&sort=title",
	"due_after=2026-12-01T00:00:00Z&due_before=2027-01-01T00:00:00Z&sort=due_date",
	"priority=low&sort=created_at&order=desc",
}

func filters(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	p := pool{Clients: o.clients, Requests: o.requests, Duration: 10 * time.Minute, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, _ int, r *rand.Rand) (time.Duration, error) {
		q := filterQueries[r.IntN(len(filterQueries))]
		d, _, err := a.expect(ctx, http.StatusOK, http.MethodGet, "/api/tasks?"+q, "")
		return d, err
	})
	if err != nil {
		return err
	}
	res.report(o.out, "filter", o.clients)
	return nil
}
