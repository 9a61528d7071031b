package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// streams opens two live streams (two "tabs") for the user, creates -requests
// tasks at -rate per second, and measures for each stream the time from
// sending a create to the stream delivering it.
func streams(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	sent := map[string]time.Time{} // title -> when its create was sent
	lat := [2][]time.Duration{}
	var wg sync.WaitGroup
	for tab := range 2 {
		req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, o.api+"/api/updates", nil)
		req.Header.Set("Authorization", a.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("stream answered %d", res.StatusCode)
		}
		wg.Go(func() {
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				data, ok := strings.CutPrefix(sc.Text(), "data:")
				if !ok {
					continue
				}
				now := time.Now()
				var m struct{ Task struct{ Title string } }
				if json.Unmarshal([]byte(strings.TrimSpace(data)), &m) != nil {
					continue
				}
				mu.Lock()
				if t0, ok := sent[m.Task.Title]; ok {
					lat[tab] = append(lat[tab], now.Sub(t0))
				}
				mu.Unlock()
			}
		})
	}
	run := time.Now().UnixNano()
	p := pool{Clients: 1, Requests: o.requests, Rate: o.rate, Seed: o.seed}
	if _, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		title := fmt.Sprintf("stream %d %d", run, i)
		mu.Lock()
		sent[title] = time.Now()
		mu.Unlock()
		_, _, d, err := a.do(ctx, http.MethodPost, "/api/tasks", `{"title":"`+title+`"}`)
		return d, err
	}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	for tab, l := range lat {
		fmt.Fprintf(o.out, "stream tab %d: created=%d received=%d create->stream %s\n", tab+1, o.requests, len(l), summary(l))
	}
	return nil
}
