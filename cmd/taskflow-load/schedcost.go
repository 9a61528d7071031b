package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// schedCost measures what scheduling a reminder adds to the write that
// causes it. It sends creates in alternating phases of -duration each, the
// same body with and without a reminder_time (an hour ahead, so nothing fires
// while it runs), four phases of each, and reports the write latency of both
// and the difference of their p95. With -rate 0 one client sends back to back;
// otherwise creates start at -rate per second whatever the answers take.
func schedCost(ctx context.Context, o options) error {
	tok, err := bearer(o)
	if err != nil {
		return err
	}
	c := client(o)
	remindAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var with, without []time.Duration
	errors := 0
	post := func(i int, reminder bool) (time.Duration, bool) {
		body := fmt.Sprintf(`{"title":"sched cost %d","priority":"high","tags":["work"],"due_date":"2027-03-01T09:00:00Z"}`, i)
		if reminder {
			body = fmt.Sprintf(`{"title":"sched cost %d","priority":"high","tags":["work"],"due_date":"2027-03-01T09:00:00Z","reminder_time":%q}`, i, remindAt)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.api+"/api/tasks", bytes.NewBufferString(body))
		req.Header.Set("Authorization", tok)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return time.Since(t0), res.StatusCode == http.StatusCreated
	}
	n := 0
	for phase := range 8 {
		reminder := phase%2 == 1
		lat := make(chan time.Duration, 1<<16)
		bad := make(chan struct{}, 1<<16)
		end := time.Now().Add(o.duration)
		if o.rate <= 0 {
			for time.Now().Before(end) {
				n++
				if d, ok := post(n, reminder); ok {
					lat <- d
				} else {
					bad <- struct{}{}
				}
			}
		} else {
			tick := time.NewTicker(time.Second / time.Duration(o.rate))
			done := make(chan struct{}, 1<<16)
			started := 0
			for time.Now().Before(end) {
				<-tick.C
				n++
				started++
				go func(i int) {
					if d, ok := post(i, reminder); ok {
						lat <- d
					} else {
						bad <- struct{}{}
					}
					done <- struct{}{}
				}(n)
			}
			tick.Stop()
			for range started {
				<-done
			}
		}
		close(lat)
		errors += len(bad)
		for d := range lat {
			if reminder {
				with = append(with, d)
			} else {
				without = append(without, d)
			}
		}
		// Let the pipeline behind one phase drain before the next starts.
		time.Sleep(2 * time.Second)
	}
	p95 := func(l []time.Duration) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(float64(len(l))*.95))]
	}
	rate := "back to back, 1 client"
	if o.rate > 0 {
		rate = fmt.Sprintf("%d/s", o.rate)
	}
	fmt.Printf("schedcost (%s, 4×%s each, errors %d)\n  without reminder: n=%d %s\n  with reminder:    n=%d %s\n",
		rate, o.duration, errors, len(without), summary(without), len(with), summary(with))
	fmt.Printf("  scheduling adds at p95: %s\n", ms(p95(with)-p95(without)))
	return nil
}
