package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/kafka"
)

// eventLatency creates tasks at -rate per second for -duration and measures,
// for each, the time from sending the create to its task.created record being
// readable on task-events; every second it samples the outbox backlog.
func eventLatency(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	brokers := env("KAFKA_BROKERS", env("TASKFLOW_KAFKA_ADDR", "127.0.0.1:9092"))
	cl, err := sarama.NewClient(strings.Split(brokers, ","), kafka.ConsumerConfig("taskflow-load"))
	if err != nil {
		return err
	}
	defer cl.Close()
	cons, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		return err
	}
	defer cons.Close()
	// From the end of every partition, found before the first create.
	ends, err := kafka.Ends(cl, events.TopicTaskEvents)
	if err != nil {
		return err
	}
	reading, stopReading := context.WithCancel(ctx)
	defer stopReading()
	msgs, err := kafka.Read(reading, cons, events.TopicTaskEvents, ends, nil)
	if err != nil {
		return err
	}

	var mu sync.Mutex
	sent := map[string]time.Time{}    // created, event not seen yet
	arrived := map[string]time.Time{} // event seen before its create answered
	var lat []time.Duration
	seen := make(chan struct{})
	go func() {
		defer close(seen)
		for r := range msgs {
			now := time.Now()
			mu.Lock()
			if t, ok := sent[string(r.Key)]; ok {
				lat = append(lat, now.Sub(t))
				delete(sent, string(r.Key))
			} else {
				arrived[string(r.Key)] = now
			}
			mu.Unlock()
		}
	}()

	db, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	// Every second while the creates run: the outbox backlog and the
	// consumer group's lag.
	var backlog, lag []int64
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-sampling.Done():
				return
			case <-tick.C:
			}
			var n int64
			if err := db.QueryRow(sampling, "SELECT count(*) FROM outbox").Scan(&n); err == nil {
				backlog = append(backlog, n)
			}
			if l, err := kafka.Lag(cl, "taskflow-task-events", []string{events.TopicTaskEvents}); err == nil {
				lag = append(lag, l[events.TopicTaskEvents])
			}
		}
	}()
	p := pool{Clients: o.clients, Duration: o.duration, Rate: o.rate, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		t0 := time.Now()
		d, b, err := a.expect(ctx, http.StatusCreated, http.MethodPost, "/api/tasks",
			fmt.Sprintf(`{"title":"event latency %d","tags":["load"]}`, i))
		if err != nil {
			return 0, err
		}
		var created struct{ ID string }
		_ = json.Unmarshal(b, &created)
		mu.Lock()
		if at, ok := arrived[created.ID]; ok {
			lat = append(lat, at.Sub(t0))
			delete(arrived, created.ID)
		} else {
			sent[created.ID] = t0
		}
		mu.Unlock()
		return d, nil
	})
	stopSampling()
	<-sampled
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // the last events
	stopReading()
	<-seen
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(o.out, "events: rate=%d/s duration=%s created=%d received=%d missing=%d errors=%d create->event %s\n",
		o.rate, o.duration, len(lat)+len(sent), len(lat), len(sent), res.errors, summary(lat))
	fmt.Fprintf(o.out, "outbox backlog per second: first=%v max=%d last=%v (samples %d)\n", first(backlog), slices.Max(append(backlog, 0)), last(backlog), len(backlog))
	fmt.Fprintf(o.out, "consumer lag of taskflow-task-events per second: first=%v max=%d last=%v (samples %d)\n", first(lag), slices.Max(append(lag, 0)), last(lag), len(lag))
	return nil
}

func first(s []int64) any {
	if len(s) == 0 {
		return "-"
	}
	return s[0]
}

func last(s []int64) any {
	if len(s) == 0 {
		return "-"
	}
	return s[len(s)-1]
}
