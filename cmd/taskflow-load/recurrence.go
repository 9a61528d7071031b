package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// successors completes -requests recurring tasks and measures, for each, the
// time from sending the complete to its successor being visible through GET
// (a list filtered by the task's own tag, polled every 5 ms).
func successors(ctx context.Context, o options) error {
	tok, err := bearer(o)
	if err != nil {
		return err
	}
	c := client(o)
	do := func(method, path, body string) (int, []byte, error) {
		var rd io.Reader
		if body != "" {
			rd = bytes.NewBufferString(body)
		}
		req, _ := http.NewRequestWithContext(ctx, method, o.api+path, rd)
		req.Header.Set("Authorization", tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b, nil
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	var (
		mu     sync.Mutex
		lat    []time.Duration
		failed int
		wg     sync.WaitGroup
	)
	work := make(chan int)
	for range o.clients {
		wg.Go(func() {
			for i := range work {
				tag := fmt.Sprintf("r%s-%d", run, i)
				status, body, err := do("POST", "/api/tasks", fmt.Sprintf(
					`{"title":"recurring %d","tags":[%q],"due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`, i, tag))
				var created struct{ ID string }
				if err != nil || status != 201 || json.Unmarshal(body, &created) != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					fmt.Printf("create failed: %d %v %s\n", status, err, body)
					continue
				}
				t0 := time.Now()
				if status, body, err := do("PATCH", "/api/tasks/"+created.ID+"/complete", ""); err != nil || status != 200 {
					mu.Lock()
					failed++
					mu.Unlock()
					fmt.Printf("complete failed: %d %v %s\n", status, err, body)
					continue
				}
				seen := false
				for deadline := t0.Add(10 * time.Second); !seen && time.Now().Before(deadline); {
					_, body, err := do("GET", "/api/tasks?status=active&tags="+tag, "")
					var page struct{ Items []json.RawMessage }
					seen = err == nil && json.Unmarshal(body, &page) == nil && len(page.Items) == 1
					if !seen {
						time.Sleep(5 * time.Millisecond)
					}
				}
				mu.Lock()
				if seen {
					lat = append(lat, time.Since(t0))
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	for i := range o.requests {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Printf("successors: clients=%d completed=%d visible=%d failed=%d complete->successor %s\n",
		o.clients, o.requests, len(lat), failed, summary(lat))
	return nil
}
