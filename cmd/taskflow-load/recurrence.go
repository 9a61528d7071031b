package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
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
