package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// successors completes -requests recurring tasks and measures, for each, the
// time from sending the complete to its successor being visible through GET
// (a list filtered by the task's own tag, polled every 5 ms).
func successors(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	p := pool{Clients: o.clients, Requests: o.requests, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		tag := fmt.Sprintf("r%s-%d", run, i)
		status, body, _, err := a.do(ctx, http.MethodPost, "/api/tasks", fmt.Sprintf(
			`{"title":"recurring %d","tags":[%q],"due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`, i, tag))
		var created struct{ ID string }
		if err != nil || status != http.StatusCreated || json.Unmarshal(body, &created) != nil {
			fmt.Fprintf(o.out, "create failed: %d %v %s\n", status, err, body)
			return 0, fmt.Errorf("create failed: %d %v", status, err)
		}
		t0 := time.Now()
		if status, body, _, err := a.do(ctx, http.MethodPatch, "/api/tasks/"+created.ID+"/complete", ""); err != nil || status != http.StatusOK {
			fmt.Fprintf(o.out, "complete failed: %d %v %s\n", status, err, body)
			return 0, fmt.Errorf("complete failed: %d %v", status, err)
		}
		for deadline := t0.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			_, body, _, err := a.do(ctx, http.MethodGet, "/api/tasks?status=active&tags="+tag, "")
			var page struct{ Items []json.RawMessage }
			if err == nil && json.Unmarshal(body, &page) == nil && len(page.Items) == 1 {
				return time.Since(t0), nil
			}
		}
		return 0, fmt.Errorf("no successor of %s within 10 s", created.ID)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "successors: clients=%d completed=%d visible=%d failed=%d complete->successor %s\n",
		o.clients, o.requests, len(res.lat), res.errors, summary(res.lat))
	return nil
}

// completes measures completing repeating tasks: it creates -requests daily
// tasks (untimed), waits 3 s for their events to pass, then completes them
// with -clients clients and reports the completes' latency and the machine's
// busy CPU per complete: the cpu line of /proc/stat (every field but idle
// and iowait) from the first complete until 3 s after the last, so that each
// completion's events (task.completed, the successor's task.created) and
// their consumers are counted, the load tool's own time included.
func completes(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	ids := make([]string, o.requests)
	p := pool{Clients: max(o.clients, 8), Requests: o.requests, Seed: o.seed}
	if _, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		status, body, d, err := a.do(ctx, http.MethodPost, "/api/tasks", fmt.Sprintf(
			`{"title":"repeating %d","due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`, i))
		var created struct{ ID string }
		if err != nil || status != http.StatusCreated || json.Unmarshal(body, &created) != nil {
			return 0, fmt.Errorf("create failed: %d %v", status, err)
		}
		ids[i] = created.ID
		return d, nil
	}); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	busy0, err := busyTicks()
	if err != nil {
		return err
	}
	p = pool{Clients: o.clients, Requests: o.requests, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		if ids[i] == "" {
			return 0, fmt.Errorf("task %d was not created", i)
		}
		status, _, d, err := a.do(ctx, http.MethodPatch, "/api/tasks/"+ids[i]+"/complete", "")
		if err != nil || status != http.StatusOK {
			return 0, fmt.Errorf("complete failed: %d %v", status, err)
		}
		return d, nil
	})
	if err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	busy1, err := busyTicks()
	if err != nil {
		return err
	}
	res.report(o.out, "completes", o.clients)
	if n := len(res.lat); n > 0 {
		fmt.Fprintf(o.out, "completes: busy CPU %.3f ms per complete (%d ticks of 10 ms)\n",
			float64(busy1-busy0)*10/float64(n), busy1-busy0)
	}
	return nil
}

// busyTicks is the machine's busy time so far, in 10 ms ticks: the cpu line
// of /proc/stat without idle and iowait.
func busyTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var sum int64
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		if i != 3 && i != 4 { // idle, iowait
			sum += v
		}
	}
	return sum, nil
}
