// Package drill runs TaskFlow's fault drills against the whole local stack
// (every function as its own process, the embedded Kafka broker, the real
// daprd and scheduler, a PostgreSQL of its own): under a steady load of
// creates, reminders and completions of recurring tasks it restarts
// PostgreSQL, restarts Kafka, kills daprd and the scheduler, and kills each
// consumer function and the relay for a while. After each fault it measures
// how long a full round trip takes to work again; at the end it checks that
// nothing acknowledged was lost or done twice.
package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/ports"
)

// Faults are the drills, in the order they run.
var Faults = []string{"postgres", "kafka", "dapr", "relay", "audit", "recurrence", "reminder", "notify"}

// Config says where the stack's pieces are and how hard to drill.
type Config struct {
	BinDir, Manifests, Triggers, DaprBin string
	Outage                               time.Duration // how long each fault lasts
	Rate                                 int           // requests per second of the steady load
	Settle                               time.Duration // how long the final checks wait for the pipeline
	Faults                               []string      // which drills (default Faults)
	Log                                  io.Writer     // progress lines
	StackLog                             io.Writer     // the functions' own output (default discarded)
}

// Result is one drill's outcome.
type Result struct {
	Fault    string
	Outage   time.Duration
	Recovery time.Duration // from the fault's end until a write, a reminder and a completion all went through again
	Requests int           // load requests sent during the drill
	Acked    int           // of which were acknowledged (2xx)
}

// Report is the whole run: every drill, what the load had acknowledged, and
// what the checks found missing or doubled (nothing, when all is well).
type Report struct {
	Results  []Result
	Creates  int // acknowledged creates
	Reminded int // acknowledged reminders that were due before the checks
	Complete int // acknowledged completions of recurring tasks
	Events   int // records read back from task-events
	Problems []string
	Lateness time.Duration // the latest notification, after its reminder time
}

const secret = "drill-secret-drill-secret-drill-secret!"

// Run starts the stack, runs the drills and checks the result.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.StackLog == nil {
		cfg.StackLog = io.Discard
	}
	if len(cfg.Faults) == 0 {
		cfg.Faults = Faults
	}
	pg, dbURL, err := startPostgres(ctx)
	if err != nil {
		return nil, err
	}
	defer pg.remove()
	addr := func() string { a, _ := ports.FreeAddr(); return a }
	kafkaData, err := os.MkdirTemp("", "taskflow-drill-kafka-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(kafkaData)
	daprData, err := os.MkdirTemp("", "taskflow-drill-dapr-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(daprData)
	sc := devstack.Config{APIAddr: addr(), DatabaseURL: dbURL, Secrets: devstack.Secrets{Config: auth.Config{Secret: secret}}, BinDir: cfg.BinDir,
		Manifests: cfg.Manifests, Triggers: cfg.Triggers, KafkaAddr: addr(), KafkaData: kafkaData,
		BrokerAddr: addr(), DaprBin: cfg.DaprBin, DaprData: daprData, LogLevel: "error"}
	up := &signal{want: "TaskFlow is up", w: cfg.StackLog, seen: make(chan struct{})}
	stack := devstack.New(sc, slog.New(slog.NewTextHandler(cfg.StackLog, &slog.HandlerOptions{Level: slog.LevelError})), up)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- stack.Run(sctx) }()
	defer func() { stop(); <-done }()
	select {
	case <-up.seen:
	case err := <-done:
		return nil, fmt.Errorf("stack: %w", err)
	case <-time.After(3 * time.Minute):
		return nil, fmt.Errorf("stack not up after 3 minutes")
	}
	db, err := pgxpool.New(ctx, dbURL) // a pool reconnects after the database restarts
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tok, _ := auth.Sign([]byte(secret), "drill", time.Now(), 24*time.Hour)
	l := &load{api: "http://" + sc.APIAddr, tok: "Bearer " + tok, rate: cfg.Rate,
		c: &http.Client{Timeout: 5 * time.Second}, reminders: map[string]time.Time{}}
	lctx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { l.run(lctx); close(loadDone) }()

	rep := &Report{}
	for i, fault := range cfg.Faults {
		l.phase.Store(int64(i + 1))
		fmt.Fprintf(cfg.Log, "drill %s: load for 2 s, then %s down for %s\n", fault, fault, cfg.Outage)
		time.Sleep(2 * time.Second)
		var err error
		switch fault {
		case "postgres":
			err = pg.crash(ctx, cfg.Outage)
		case "kafka":
			err = stack.RestartKafka(ctx, cfg.Outage)
		case "dapr":
			err = stack.RestartDapr(ctx, cfg.Outage)
		default:
			if err = stack.Kill(fault, cfg.Outage); err == nil {
				time.Sleep(cfg.Outage)
			}
		}
		if err != nil {
			stopLoad()
			<-loadDone
			return rep, fmt.Errorf("drill %s: %w", fault, err)
		}
		restored := time.Now()
		rec, err := l.roundTrip(ctx, db, 5*time.Minute)
		l.phase.Store(0)
		time.Sleep(time.Second) // the drill's last requests answer or time out
		c := l.counters(int64(i + 1))
		r := Result{Fault: fault, Outage: cfg.Outage, Recovery: rec, Requests: int(c[0].Load()), Acked: int(c[1].Load())}
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not recovered after %s: %v", fault, time.Since(restored).Round(time.Second), err))
		}
		rep.Results = append(rep.Results, r)
		fmt.Fprintf(cfg.Log, "drill %s: recovered in %s (%d of %d load requests acknowledged during the drill)\n",
			fault, rec.Round(time.Millisecond), r.Acked, r.Requests)
	}
	stopLoad()
	<-loadDone
	fmt.Fprintf(cfg.Log, "checking: every acknowledged write, event, successor, audit row and reminder (up to %s)\n", cfg.Settle)
	check(ctx, db, sc.KafkaAddr, l, rep, cfg.Settle)
	return rep, nil
}

// signal passes output through and closes seen at the first line containing want.
type signal struct {
	want string
	w    io.Writer
	once sync.Once
	seen chan struct{}
}

func (s *signal) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(s.want)) {
		s.once.Do(func() { close(s.seen) })
	}
	return s.w.Write(p)
}

// load is the steady traffic: plain creates, creates with a reminder a few
// seconds ahead, recurring creates, and completions of the recurring ones.
type load struct {
	api, tok string
	rate     int
	c        *http.Client
	phase    atomic.Int64 // which drill is running; answers count for the drill their request began in
	byPhase  sync.Map     // phase -> *[2]atomic.Int64 (sent, acknowledged)

	mu        sync.Mutex
	created   []string
	reminders map[string]time.Time
	open      []string // acknowledged recurring tasks not yet completed
	completed []string
}

func (l *load) run(ctx context.Context) {
	tick := time.NewTicker(time.Second / time.Duration(max(l.rate, 1)))
	defer tick.Stop()
	sem := make(chan struct{}, 64) // requests in flight: a stalled stack does not pile up goroutines
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			l.one(ctx, i)
		})
	}
}

func (l *load) one(ctx context.Context, i int) {
	switch i % 4 {
	case 0:
		l.create(ctx, fmt.Sprintf(`{"title":"drill task %d","priority":"high","tags":["drill"]}`, i), nil, false)
	case 1:
		at := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
		l.create(ctx, fmt.Sprintf(`{"title":"drill reminder %d","reminder_time":%q}`, i, at.Format(time.RFC3339)), &at, false)
	case 2:
		l.create(ctx, fmt.Sprintf(`{"title":"drill series %d","due_date":%q,"recurrence_pattern":{"frequency":"daily"}}`,
			i, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), nil, true)
	case 3:
		l.mu.Lock()
		if len(l.open) == 0 {
			l.mu.Unlock()
			return
		}
		id := l.open[0]
		l.open = l.open[1:]
		l.mu.Unlock()
		if status, _ := l.do(ctx, http.MethodPatch, "/api/tasks/"+id+"/complete", ""); status == http.StatusOK {
			l.mu.Lock()
			l.completed = append(l.completed, id)
			l.mu.Unlock()
		} else {
			l.mu.Lock()
			l.open = append(l.open, id) // try again later: completing is idempotent
			l.mu.Unlock()
		}
	}
}

func (l *load) create(ctx context.Context, body string, remindAt *time.Time, recurring bool) (string, bool) {
	status, out := l.do(ctx, http.MethodPost, "/api/tasks", body)
	if status != http.StatusCreated {
		return "", false
	}
	var t struct{ ID string }
	_ = json.Unmarshal(out, &t)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.created = append(l.created, t.ID)
	if remindAt != nil {
		l.reminders[t.ID] = *remindAt
	}
	if recurring {
		l.open = append(l.open, t.ID)
	}
	return t.ID, true
}

// counters are the sent and acknowledged counts of a phase.
func (l *load) counters(phase int64) *[2]atomic.Int64 {
	c, _ := l.byPhase.LoadOrStore(phase, new([2]atomic.Int64))
	return c.(*[2]atomic.Int64)
}

func (l *load) do(ctx context.Context, method, path, body string) (int, []byte) {
	counts := l.counters(l.phase.Load())
	counts[0].Add(1)
	req, _ := http.NewRequestWithContext(ctx, method, l.api+path, strings.NewReader(body))
	req.Header.Set("Authorization", l.tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := l.c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 == 2 {
		counts[1].Add(1)
	}
	return res.StatusCode, out
}

// roundTrip measures recovery: it keeps trying until a new task's created
// event is audited, a reminder one second ahead becomes a notification, and
// a completed recurring task has its successor.
func (l *load) roundTrip(ctx context.Context, db *pgxpool.Pool, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(limit)
	var remID, seriesID string
	completed := false
	for time.Now().Before(deadline) {
		if remID == "" {
			at := time.Now().Add(time.Second).UTC().Truncate(time.Second).Add(time.Second)
			remID, _ = l.create(ctx, fmt.Sprintf(`{"title":"drill probe","reminder_time":%q}`, at.Format(time.RFC3339)), &at, false)
		}
		if seriesID == "" {
			seriesID, _ = l.create(ctx, fmt.Sprintf(`{"title":"drill probe series","due_date":%q,"recurrence_pattern":{"frequency":"daily"}}`,
				time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), nil, false)
		}
		if seriesID != "" && !completed {
			if status, _ := l.do(ctx, http.MethodPatch, "/api/tasks/"+seriesID+"/complete", ""); status == http.StatusOK {
				completed = true
				l.mu.Lock()
				l.completed = append(l.completed, seriesID)
				l.mu.Unlock()
			}
		}
		if remID != "" && completed {
			var audited, notified, successors int
			err := db.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM audit_events WHERE task_id = $1 AND type = 'dev.taskflow.task.created'),
				(SELECT count(*) FROM notifications WHERE task_id = $1),
				(SELECT count(*) FROM tasks WHERE predecessor_id = $2)`, remID, seriesID).Scan(&audited, &notified, &successors)
			if err == nil && audited == 1 && notified == 1 && successors == 1 {
				return time.Since(start), nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("probe task %q (reminder) and series %q (completed %v) did not go through", remID, seriesID, completed)
}
