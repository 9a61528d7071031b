package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A pool sends the requests of every request-driven mode: Clients workers,
// each taking the next request until Requests have started or Duration has
// passed (whichever comes first), either back to back or started at Rate per
// second in all.
type pool struct {
	// Clients is how many requests may be in flight at once. With a Rate, 0
	// means no bound: every request starts on its own goroutine at its time,
	// whatever the earlier ones take (an open loop).
	Clients int
	// Requests bounds how many requests start; 0: only Duration does.
	Requests int
	// Duration bounds how long requests start; 0: only Requests does. The
	// requests in flight when it passes are waited for.
	Duration time.Duration
	// Rate is how many requests start per second in all; 0: each worker
	// starts its next as soon as its last has answered. A worker that falls
	// behind the schedule catches up back to back.
	Rate int
	// Seed seeds each worker's random source (PCG(Seed, worker); in an open
	// loop PCG(Seed, request)).
	Seed uint64
}

// A job is request i, with r its worker's own random source. It returns the
// latency to record, or an error, which is counted instead.
type job func(ctx context.Context, i int, r *rand.Rand) (time.Duration, error)

// A result is what a pool's run saw.
type result struct {
	lat        []time.Duration // of the requests that succeeded, in the order they ended
	errors     int             // requests whose job returned an error
	err        error           // the first of those errors
	start, end time.Time       // the run's start, and when its last request ended
}

// started is how many requests ran.
func (r *result) started() int { return len(r.lat) + r.errors }

// elapsed is the run's wall time.
func (r *result) elapsed() time.Duration { return r.end.Sub(r.start) }

// throughput is successful requests per second of the run.
func (r *result) throughput() float64 { return float64(len(r.lat)) / r.elapsed().Seconds() }

// report prints the line the create, search and filter modes print:
//
//	create: clients=32 requests=37860 errors=0 elapsed=20.0s throughput=1893/s p50=… p95=… p99=… max=…
func (r *result) report(w io.Writer, name string, clients int) {
	fmt.Fprintf(w, "%s: clients=%d requests=%d errors=%d elapsed=%.1fs throughput=%.0f/s %s\n",
		name, clients, len(r.lat), r.errors, r.elapsed().Seconds(), r.throughput(), summary(r.lat))
}

func (p pool) check() error {
	switch {
	case p.Clients < 0 || p.Requests < 0 || p.Duration < 0 || p.Rate < 0:
		return errors.New("pool: negative setting")
	case p.Clients == 0 && p.Rate == 0:
		return errors.New("pool: no clients and no rate")
	case p.Requests == 0 && p.Duration == 0:
		return errors.New("pool: neither a request count nor a duration bounds the run")
	}
	return nil
}

// run sends the pool's requests, each by calling j, and returns when the last
// has ended. Cancelling ctx stops new requests from starting.
func (p pool) run(ctx context.Context, j job) (*result, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	res := &result{start: time.Now()}
	// stop ends when no more requests may start; the requests in flight keep ctx.
	stop := ctx
	if p.Duration > 0 {
		var cancel context.CancelFunc
		stop, cancel = context.WithDeadline(ctx, res.start.Add(p.Duration))
		defer cancel()
	}
	var mu sync.Mutex
	record := func(d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.errors++
			if res.err == nil {
				res.err = err
			}
			return
		}
		res.lat = append(res.lat, d)
	}
	var wg sync.WaitGroup
	if p.Rate == 0 {
		// Closed loop: each worker claims the next request number.
		var next atomic.Int64
		for w := range p.Clients {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(p.Seed, uint64(w)))
				for {
					i := int(next.Add(1) - 1)
					if (p.Requests > 0 && i >= p.Requests) || stop.Err() != nil {
						return
					}
					record(j(ctx, i, r))
				}
			})
		}
		wg.Wait()
		res.end = time.Now()
		return res, nil
	}
	// Open schedule: request i is due at start + i/Rate.
	tickets := make(chan int)
	for w := range p.Clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(p.Seed, uint64(w)))
			for i := range tickets {
				record(j(ctx, i, r))
			}
		})
	}
	interval := time.Second / time.Duration(p.Rate)
	for i := 0; p.Requests == 0 || i < p.Requests; i++ {
		if !sleepUntil(stop, res.start.Add(time.Duration(i)*interval)) {
			break
		}
		if p.Clients == 0 {
			wg.Go(func() { record(j(ctx, i, rand.New(rand.NewPCG(p.Seed, uint64(i))))) })
			continue
		}
		select {
		case tickets <- i:
			continue
		case <-stop.Done():
		}
		break
	}
	close(tickets)
	wg.Wait()
	res.end = time.Now()
	return res, nil
}

// sleepUntil waits until t; false if ctx ends first (or has ended).
func sleepUntil(ctx context.Context, t time.Time) bool {
	if wait := time.Until(t); wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	return ctx.Err() == nil
}

// percentile is the p-quantile (0..1) of sorted latencies: the one at index
// n·p, the last for p = 1; 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// summary sorts lat and renders its p50, p95, p99 and maximum.
func summary(lat []time.Duration) string {
	slices.Sort(lat)
	return fmt.Sprintf("p50=%s p95=%s p99=%s max=%s",
		ms(percentile(lat, .50)), ms(percentile(lat, .95)), ms(percentile(lat, .99)), ms(percentile(lat, 1)))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
