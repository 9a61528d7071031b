package main

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	remindAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var with, without []time.Duration
	errors := 0
	p := pool{Clients: 1, Duration: o.duration, Seed: o.seed}
	if o.rate > 0 {
		p = pool{Duration: o.duration, Rate: o.rate, Seed: o.seed} // no client bound: an open loop
	}
	n := 0 // creates sent in the phases before
	for phase := range 8 {
		reminder := phase%2 == 1
		res, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
			body := fmt.Sprintf(`{"title":"sched cost %d","priority":"high","tags":["work"],"due_date":"2027-03-01T09:00:00Z"}`, n+i+1)
			if reminder {
				body = fmt.Sprintf(`{"title":"sched cost %d","priority":"high","tags":["work"],"due_date":"2027-03-01T09:00:00Z","reminder_time":%q}`, n+i+1, remindAt)
			}
			d, _, err := a.expect(ctx, http.StatusCreated, http.MethodPost, "/api/tasks", body)
			return d, err
		})
		if err != nil {
			return err
		}
		n += res.started()
		errors += res.errors
		if reminder {
			with = append(with, res.lat...)
		} else {
			without = append(without, res.lat...)
		}
		// Let the pipeline behind one phase drain before the next starts.
		time.Sleep(2 * time.Second)
	}
	rate := "back to back, 1 client"
	if o.rate > 0 {
		rate = fmt.Sprintf("%d/s", o.rate)
	}
	fmt.Fprintf(o.out, "schedcost (%s, 4×%s each, errors %d)\n  without reminder: n=%d %s\n  with reminder:    n=%d %s\n",
		rate, o.duration, errors, len(without), summary(without), len(with), summary(with))
	// summary sorted both.
	fmt.Fprintf(o.out, "  scheduling adds at p95: %s\n", ms(percentile(with, .95)-percentile(without, .95)))
	return nil
}
