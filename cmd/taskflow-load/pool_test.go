package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// inFlight counts a job's concurrent calls and remembers the most seen.
type inFlight struct {
	now, most atomic.Int64
}

func (f *inFlight) enter() {
	n := f.now.Add(1)
	for {
		m := f.most.Load()
		if n <= m || f.most.CompareAndSwap(m, n) {
			return
		}
	}
}

func (f *inFlight) leave() { f.now.Add(-1) }

func TestPoolRunsEachRequestOnceWithinClients(t *testing.T) {
	var f inFlight
	var mu sync.Mutex
	seen := map[int]int{}
	res, err := pool{Clients: 3, Requests: 40}.run(context.Background(), func(_ context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		f.enter()
		defer f.leave()
		mu.Lock()
		seen[i]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		return time.Millisecond, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.started() != 40 || len(res.lat) != 40 || res.errors != 0 {
		t.Fatalf("started %d, latencies %d, errors %d; want 40, 40, 0", res.started(), len(res.lat), res.errors)
	}
	for i := range 40 {
		if seen[i] != 1 {
			t.Errorf("request %d ran %d times", i, seen[i])
		}
	}
	if m := f.most.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d requests in flight; want 2..3 with 3 clients", m)
	}
}

func TestPoolStopsStartingAtTheDuration(t *testing.T) {
	start := time.Now()
	res, err := pool{Clients: 2, Duration: 150 * time.Millisecond}.run(context.Background(), func(context.Context, int, *rand.Rand) (time.Duration, error) {
		time.Sleep(10 * time.Millisecond)
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < 150*time.Millisecond || took > time.Second {
		t.Errorf("a 150 ms run took %s", took)
	}
	// Two clients, 10 ms a request: at most 2 × 15 started before the end, and
	// one more each that saw the clock just before it.
	if n := res.started(); n < 4 || n > 32 {
		t.Errorf("started %d requests; want 4..32", n)
	}
	if res.elapsed() < 150*time.Millisecond {
		t.Errorf("elapsed %s", res.elapsed())
	}
}

func TestPoolKeepsTheRate(t *testing.T) {
	var mu sync.Mutex
	var starts []time.Duration
	var t0 time.Time
	p := pool{Clients: 4, Requests: 10, Rate: 50} // one every 20 ms
	t0 = time.Now()
	res, err := p.run(context.Background(), func(_ context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		mu.Lock()
		starts = append(starts, time.Since(t0))
		mu.Unlock()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.started() != 10 {
		t.Fatalf("started %d; want 10", res.started())
	}
	// Request i is due at i × 20 ms: none may start early (the clock is
	// read just before the run, so allow a millisecond).
	for i, s := range starts {
		if due := time.Duration(i)*20*time.Millisecond - time.Millisecond; s < due {
			t.Errorf("request %d started at %s, before %s", i, s, due)
		}
	}
	if took := res.elapsed(); took < 180*time.Millisecond || took > 2*time.Second {
		t.Errorf("10 requests at 50/s took %s; want about 180 ms", took)
	}
}

func TestPoolRateBoundedByDuration(t *testing.T) {
	res, err := pool{Clients: 2, Duration: 300 * time.Millisecond, Rate: 100}.run(context.Background(),
		func(context.Context, int, *rand.Rand) (time.Duration, error) { return 0, nil })
	if err != nil {
		t.Fatal(err)
	}
	// Due at 0, 10, …, 290 ms: 30 requests; a slow machine may start fewer.
	if n := res.started(); n < 15 || n > 31 {
		t.Errorf("300 ms at 100/s started %d; want about 30", n)
	}
}

func TestPoolOpenLoopDoesNotWaitForAnswers(t *testing.T) {
	var f inFlight
	res, err := pool{Requests: 10, Rate: 100}.run(context.Background(), func(context.Context, int, *rand.Rand) (time.Duration, error) {
		f.enter()
		defer f.leave()
		time.Sleep(100 * time.Millisecond)
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One client would need a second; the open loop starts all ten in 90 ms.
	if res.started() != 10 || res.elapsed() > 600*time.Millisecond {
		t.Errorf("started %d in %s; want 10 in about 190 ms", res.started(), res.elapsed())
	}
	if f.most.Load() < 3 {
		t.Errorf("at most %d in flight; an open loop at 100/s of 100 ms requests has about 10", f.most.Load())
	}
}

func TestPoolCountsErrors(t *testing.T) {
	boom := errors.New("boom")
	res, err := pool{Clients: 2, Requests: 30}.run(context.Background(), func(_ context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		if i%3 == 0 {
			return time.Hour, boom // the latency of a failure is not recorded
		}
		return time.Millisecond, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.errors != 10 || len(res.lat) != 20 || !errors.Is(res.err, boom) {
		t.Errorf("errors %d, latencies %d, first error %v; want 10, 20, boom", res.errors, len(res.lat), res.err)
	}
	for _, d := range res.lat {
		if d != time.Millisecond {
			t.Fatalf("recorded %s", d)
		}
	}
}

func TestPoolPercentilesOfAKnownDistribution(t *testing.T) {
	// Latencies 1..100 ms, in an order of the workers' making.
	res, err := pool{Clients: 4, Requests: 100}.run(context.Background(), func(_ context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		return time.Duration(i+1) * time.Millisecond, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(res.lat), "p50=51.00ms p95=96.00ms p99=100.00ms max=100.00ms"; got != want {
		t.Errorf("summary %q; want %q", got, want)
	}
	if got := percentile(res.lat, .9); got != 91*time.Millisecond {
		t.Errorf("p90 %s; want 91ms", got)
	}
	if got := summary(nil); got != "p50=0.00ms p95=0.00ms p99=0.00ms max=0.00ms" {
		t.Errorf("summary of nothing %q", got)
	}
	// Ten values: p50 is the sixth, p95 and p99 the last.
	ten := []time.Duration{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	for i := range ten {
		ten[i] *= time.Millisecond
	}
	if got, want := summary(ten), "p50=6.00ms p95=10.00ms p99=10.00ms max=10.00ms"; got != want {
		t.Errorf("summary %q; want %q", got, want)
	}
}

func TestPoolWorkersHaveTheirOwnSeededRandom(t *testing.T) {
	var both sync.WaitGroup // holds each request until both are in flight: one per worker
	both.Add(2)
	var mu sync.Mutex
	got := map[uint64]bool{}
	_, err := pool{Clients: 2, Requests: 2, Seed: 9}.run(context.Background(), func(_ context.Context, _ int, r *rand.Rand) (time.Duration, error) {
		both.Done()
		both.Wait()
		mu.Lock()
		got[r.Uint64()] = true
		mu.Unlock()
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for w := range uint64(2) {
		if v := rand.New(rand.NewPCG(9, w)).Uint64(); !got[v] {
			t.Errorf("no worker drew PCG(9, %d)'s first value %d; drew %v", w, v, got)
		}
	}
}

func TestPoolStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	res, err := pool{Clients: 1, Requests: 1000}.run(ctx, func(_ context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		if i == 4 {
			cancel()
		}
		return 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.started() != 5 {
		t.Errorf("started %d after cancelling at the fifth; want 5", res.started())
	}
}

func TestPoolRefusesAnUnboundedRun(t *testing.T) {
	for _, p := range []pool{
		{Clients: 1},               // nothing bounds it
		{Requests: 10},             // no clients, no rate
		{Clients: -1, Requests: 1}, // negative
		{Clients: 1, Requests: 1, Rate: -1},
	} {
		ran := false
		if _, err := p.run(context.Background(), func(context.Context, int, *rand.Rand) (time.Duration, error) {
			ran = true
			return 0, nil
		}); err == nil || ran {
			t.Errorf("%+v: err %v, ran %v; want an error before any request", p, err, ran)
		}
	}
}
