package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
)

// fanout measures the live stream at browser scale: it opens -streams
// streams for -users users (evenly, through the gateway), reads the updates
// function's RSS before and after, then creates tasks for those users at
// -rate per second in all for -duration, and reports whether every change
// reached every stream of its user and how long after its commit (the
// task's updated_at in the event; same clock, same machine).
func fanout(ctx context.Context, o options) error {
	if o.users < 1 || o.streams < o.users {
		return fmt.Errorf("need -users ≥ 1 and -streams ≥ -users")
	}
	pid := o.pid
	if pid == 0 {
		var err error
		if pid, err = updatesPID(); err != nil {
			return err
		}
	}
	run := time.Now().UnixNano()
	tokens := make([]string, o.users)
	for u := range tokens {
		tok, err := auth.Sign([]byte(o.secret), fmt.Sprintf("fanout-%d-%03d", run, u), time.Now(), 2*time.Hour)
		if err != nil {
			return err
		}
		tokens[u] = "Bearer " + tok
	}
	f := &fanoutRun{prefix: fmt.Sprintf("fanout %d ", run), got: make([]map[int]bool, o.streams)}
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	rss0 := rssKiB(pid)
	t0 := time.Now()
	var wg sync.WaitGroup
	opened := make(chan error, o.streams)
	sem := make(chan struct{}, 32)
	for s := range o.streams {
		f.got[s] = map[int]bool{}
		sem <- struct{}{}
		wg.Go(func() {
			f.read(streamCtx, c, o.api, tokens[s%o.users], s, opened, sem)
		})
	}
	for range o.streams {
		if err := <-opened; err != nil {
			cancel()
			wg.Wait()
			return err
		}
	}
	openTook := time.Since(t0)
	time.Sleep(3 * time.Second) // idle: what the open streams alone hold
	rss1 := rssKiB(pid)
	fmt.Fprintf(o.out, "fanout: %d streams for %d users open in %s; updates pid %d RSS %.1f MiB before, %.1f MiB with the streams idle: %.1f KiB per idle stream\n",
		o.streams, o.users, openTook.Round(time.Millisecond), pid, float64(rss0)/1024, float64(rss1)/1024,
		float64(rss1-rss0)/float64(o.streams))

	a, err := newAPI(o)
	if err != nil {
		return err
	}
	var createdMu sync.Mutex
	created := map[int]int{} // change number -> its user
	p := pool{Clients: 8, Rate: o.rate, Duration: o.duration, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		u := i % o.users
		ua := *a
		ua.token = tokens[u]
		d, _, err := ua.expect(ctx, http.StatusCreated, http.MethodPost, "/api/tasks",
			`{"title":"`+f.prefix+strconv.Itoa(i)+`"}`)
		if err == nil {
			createdMu.Lock()
			created[i] = u
			createdMu.Unlock()
		}
		return d, err
	})
	if err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // the last changes' way to the streams
	rss2 := rssKiB(pid)
	cancel()
	wg.Wait()

	want, got, missing := 0, 0, 0
	for s := range o.streams {
		for i, u := range created {
			if u != s%o.users {
				continue
			}
			want++
			if f.got[s][i] {
				got++
			} else {
				missing++
			}
		}
	}
	fmt.Fprintf(o.out, "fanout: changes=%d (errors=%d) at %d/s for %s; deliveries %d of %d (missing %d, duplicates %d, foreign %d, streams ended early %d); commit->stream %s; RSS after the load %.1f MiB\n",
		len(created), res.errors, o.rate, res.elapsed().Round(time.Millisecond), got, want, missing,
		f.dupes.Load(), f.foreign.Load(), f.ended.Load(), summary(f.lat), float64(rss2)/1024)
	if res.err != nil {
		fmt.Fprintf(o.out, "fanout: first change error: %v\n", res.err)
	}
	return nil
}

// fanoutRun is what the streams of one fanout run received.
type fanoutRun struct {
	prefix                string
	mu                    sync.Mutex
	got                   []map[int]bool  // per stream, the changes received
	lat                   []time.Duration // commit -> stream, every delivery
	dupes, foreign, ended atomic.Int64
}

// read opens stream s as token, reports the outcome on opened, then records
// what it receives until ctx ends.
func (f *fanoutRun) read(ctx context.Context, c *http.Client, api, token string, s int, opened chan<- error, sem chan struct{}) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/api/updates", nil)
	req.Header.Set("Authorization", token)
	res, err := c.Do(req)
	<-sem
	if err == nil && res.StatusCode != http.StatusOK {
		res.Body.Close()
		err = fmt.Errorf("stream %d answered %d", s, res.StatusCode)
	}
	opened <- err
	if err != nil {
		return
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		now := time.Now()
		var m struct {
			Task struct {
				Title     string
				UpdatedAt time.Time `json:"updated_at"`
			}
		}
		if json.Unmarshal([]byte(strings.TrimSpace(data)), &m) != nil {
			continue
		}
		n, ok := strings.CutPrefix(m.Task.Title, f.prefix)
		i, err := strconv.Atoi(n)
		if !ok || err != nil {
			f.foreign.Add(1)
			continue
		}
		f.mu.Lock()
		if f.got[s][i] {
			f.dupes.Add(1)
		}
		f.got[s][i] = true
		f.lat = append(f.lat, now.Sub(m.Task.UpdatedAt))
		f.mu.Unlock()
	}
	if ctx.Err() == nil {
		f.ended.Add(1)
	}
}

// updatesPID finds the updates function of the stack run from this
// directory: a process whose executable is named updates and whose working
// directory is this one.
func updatesPID() (int, error) {
	wd, _ := os.Getwd()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var found []int
	for _, d := range dirs {
		exe, err := os.Readlink(d + "/exe")
		if err != nil || filepath.Base(strings.TrimSuffix(exe, " (deleted)")) != "updates" {
			continue
		}
		if cwd, _ := os.Readlink(d + "/cwd"); cwd != wd {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		found = append(found, pid)
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return 0, errors.New("no updates process of a stack run from this directory: give -pid")
	}
	return 0, fmt.Errorf("several updates processes %v: give -pid", found)
}
