package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// streams opens two live streams (two "tabs") for the user, creates -requests
// tasks at -rate per second, and measures for each stream the time from
// sending a create to the stream delivering it.
func streams(ctx context.Context, o options) error {
	tok, err := bearer(o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	sent := map[string]time.Time{} // title -> when its create was sent
	lat := [2][]time.Duration{}
	var wg sync.WaitGroup
	for tab := range 2 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.api+"/api/updates", nil)
		req.Header.Set("Authorization", tok)
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
	c := client(o)
	run := time.Now().UnixNano()
	for i := range o.requests {
		title := fmt.Sprintf("stream %d %d", run, i)
		mu.Lock()
		sent[title] = time.Now()
		mu.Unlock()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.api+"/api/tasks", bytes.NewBufferString(`{"title":"`+title+`"}`))
		req.Header.Set("Authorization", tok)
		req.Header.Set("Content-Type", "application/json")
		if res, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		time.Sleep(time.Second / time.Duration(o.rate))
	}
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	for tab, l := range lat {
		fmt.Printf("stream tab %d: created=%d received=%d create->stream %s\n", tab+1, o.requests, len(l), summary(l))
	}
	return nil
}
