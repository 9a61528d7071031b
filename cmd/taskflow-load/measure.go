package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
)

// stats collects latencies and reports throughput and percentiles.
type stats struct {
	mu     sync.Mutex
	lat    []time.Duration
	errors atomic.Int64
	start  time.Time
	end    time.Time
}

func (s *stats) add(d time.Duration) {
	s.mu.Lock()
	s.lat = append(s.lat, d)
	s.mu.Unlock()
}

func (s *stats) report(name string, o options) {
	secs := s.end.Sub(s.start).Seconds()
	fmt.Printf("%s: clients=%d requests=%d errors=%d elapsed=%.1fs throughput=%.0f/s %s\n",
		name, o.clients, len(s.lat), s.errors.Load(), secs, float64(len(s.lat))/secs, summary(s.lat))
}

// summary sorts lat and renders its p50, p95, p99 and maximum.
func summary(lat []time.Duration) string {
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	return fmt.Sprintf("p50=%s p95=%s p99=%s max=%s", ms(pct(.50)), ms(pct(.95)), ms(pct(.99)), ms(pct(1)))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func client(o options) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.clients * 2, MaxIdleConnsPerHost: o.clients * 2, IdleConnTimeout: time.Minute}}
}

func bearer(o options) (string, error) {
	tok, err := auth.Sign([]byte(o.secret), o.user, time.Now(), 2*time.Hour)
	return "Bearer " + tok, err
}

// run sends requests from o.clients goroutines until next returns nil or the
// deadline passes; each request must answer want.
func run(o options, deadline time.Time, limit int64, want int, next func(r *rand.Rand) *http.Request) (*stats, error) {
	tok, err := bearer(o)
	if err != nil {
		return nil, err
	}
	c := client(o)
	st := &stats{start: time.Now()}
	var sent atomic.Int64
	var wg sync.WaitGroup
	for i := range o.clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(o.seed, uint64(i)))
			for time.Now().Before(deadline) && sent.Add(1) <= limit {
				req := next(r)
				req.Header.Set("Authorization", tok)
				t0 := time.Now()
				res, err := c.Do(req)
				if err != nil {
					st.errors.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				d := time.Since(t0)
				if res.StatusCode != want {
					st.errors.Add(1)
					continue
				}
				st.add(d)
			}
		})
	}
	wg.Wait()
	st.end = time.Now()
	return st, nil
}

// creates posts tasks for o.duration (bounded: at most 1,000,000 requests).
func creates(ctx context.Context, o options) error {
	w := newWords(rand.New(rand.NewPCG(o.seed, 7)))
	var mu sync.Mutex
	st, err := run(o, time.Now().Add(o.duration), 1_000_000, http.StatusCreated, func(r *rand.Rand) *http.Request {
		mu.Lock()
		title, desc := w.phrase(2+r.IntN(4)), w.phrase(r.IntN(10))
		mu.Unlock()
		body := fmt.Sprintf(`{"title":%q,"description":%q,"priority":"high","tags":["work","q%d"],"due_date":"2027-03-01T09:00:00Z"}`,
			title, desc, 1+r.IntN(4))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.api+"/api/tasks", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
	if err != nil {
		return err
	}
	st.report("create", o)
	return nil
}

// searches runs o.requests keyword searches for o.user with terms drawn from
// the data set's vocabulary at its own word frequencies: one word, or (three
// times in ten) a word and the first four letters of another, as typed.
func searches(ctx context.Context, o options) error {
	w := newWords(rand.New(rand.NewPCG(o.seed, 7)))
	var mu sync.Mutex
	st, err := run(o, time.Now().Add(10*time.Minute), int64(o.requests), http.StatusOK, func(r *rand.Rand) *http.Request {
		mu.Lock()
		q := w.pick()
		if r.IntN(10) < 3 {
			q += " " + w.pick()[:4]
		}
		mu.Unlock()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.api+"/api/tasks/search?q="+url.QueryEscape(q), nil)
		return req
	})
	if err != nil {
		return err
	}
	st.report("search", o)
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
	st, err := run(o, time.Now().Add(10*time.Minute), int64(o.requests), http.StatusOK, func(r *rand.Rand) *http.Request {
		q := filterQueries[r.IntN(len(filterQueries))]
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.api+"/api/tasks?"+q, nil)
		return req
	})
	if err != nil {
		return err
	}
	st.report("filter", o)
	return nil
}
