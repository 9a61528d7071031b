package consumers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// webhook records what it is sent and answers with status().
type webhook struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	status int
	srv    *httptest.Server
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{status: 200}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, b)
		w.sigs = append(w.sigs, r.Header.Get(consumers.SignatureHeader))
		status := w.status
		w.mu.Unlock()
		rw.WriteHeader(status)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) set(status int) { w.mu.Lock(); w.status = status; w.mu.Unlock() }
func (w *webhook) calls() int     { w.mu.Lock(); defer w.mu.Unlock(); return len(w.bodies) }

func reminder(id, user, taskID string) cloudevents.Event {
	ev := cloudevents.New()
	ev.SetID(id)
	ev.SetSource("/taskflow/reminder")
	ev.SetType(events.ReminderDue)
	ev.SetSubject(taskID)
	_ = ev.SetData("application/json", []byte(fmt.Sprintf(
		`{"task_id":%q,"user_id":%q,"title":"Pay rent","due_date":"2027-03-01T09:00:00Z","remind_at":"2027-03-01T08:45:00Z","fired_at":"2027-03-01T08:45:00.2Z"}`,
		taskID, user)))
	return ev
}

const taskA = "0193f0c2-0000-7000-8000-00000000000a"

// TestNotifyOnceSignedAndRetried: a reminder delivered three times gives one
// notification and, from the webhook worker, one signed webhook call; a
// webhook that is down gets the notification when it is back; one that
// refuses it is not asked again.
func TestNotifyOnceSignedAndRetried(t *testing.T) {
	wh := newWebhook(t)
	hook := consumers.Webhook{URL: wh.srv.URL, Secret: "hook-secret", Tries: 2, Timeout: 2 * time.Second}
	e := newEnv(t, consumers.Notify(hook))
	ahead := time.Duration(0) // the worker's clock, moved forward past each retry time
	worker := consumers.NewNotifier(hook, e.st, quiet, func() time.Time { return time.Now().Add(ahead) })
	sweep := func(want int) {
		t.Helper()
		if n, err := worker.Sweep(context.Background()); err != nil || n != want {
			t.Fatalf("sweep: %d %v, want %d", n, err, want)
		}
	}
	for i := range 3 {
		if status := e.deliver(reminder("r-1", "alice", taskA), i == 1); status != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, status)
		}
	}
	if n := e.rows("SELECT count(*) FROM notifications WHERE user_id = 'alice' AND title = 'Pay rent'"); n != 1 {
		t.Fatalf("%d notifications for one reminder", n)
	}
	sweep(1)
	sweep(0)
	if wh.calls() != 1 {
		t.Fatalf("webhook called %d times", wh.calls())
	}
	body, sig := wh.bodies[0], wh.sigs[0]
	if sig != consumers.Sign("hook-secret", body) {
		t.Errorf("signature %q does not match the body", sig)
	}
	var ce map[string]any
	if err := json.Unmarshal(body, &ce); err != nil || ce["type"] != events.NotificationCreated || ce["specversion"] != "1.0" {
		t.Errorf("webhook body is not the notification CloudEvent: %s", body)
	}
	if n := e.rows("SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.notification.created'"); n != 1 {
		t.Errorf("%d live-stream events", n)
	}
	if n := e.rows("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NOT NULL AND status = 200"); n != 1 {
		t.Errorf("%d deliveries recorded as done", n)
	}

	// The webhook is down: the notification is stored and its delivery owed;
	// the worker delivers it, once, when the webhook is back.
	wh.set(503)
	other := "0193f0c2-0000-7000-8000-00000000000b"
	if status := e.deliver(reminder("r-2", "alice", other), false); status != http.StatusAccepted {
		t.Fatalf("webhook down answered %d", status)
	}
	calls := wh.calls()
	sweep(1)
	if wh.calls() != calls+hook.Tries {
		t.Errorf("%d posts in one go, want %d", wh.calls()-calls, hook.Tries)
	}
	if n := e.rows("SELECT count(*) FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.task_id = '" +
		other + "' AND d.delivered_at IS NULL AND d.attempts = 1 AND d.status = 503"); n != 1 {
		t.Fatalf("delivery not owed while the webhook is down: %d", n)
	}
	sweep(0) // not due again yet
	calls = wh.calls()
	wh.set(200)
	ahead = time.Hour
	sweep(1)
	if wh.calls() != calls+1 {
		t.Errorf("webhook calls %d, want %d", wh.calls(), calls+1)
	}
	e.deliver(reminder("r-2", "alice", other), false)
	ahead = 2 * time.Hour
	if n, _ := worker.Sweep(context.Background()); n != 0 || wh.calls() != calls+1 {
		t.Errorf("a delivered notification was posted again")
	}

	// A 4xx is final.
	wh.set(400)
	third := "0193f0c2-0000-7000-8000-00000000000c"
	if status := e.deliver(reminder("r-3", "bob", third), false); status != http.StatusAccepted {
		t.Fatalf("refused by webhook: %d", status)
	}
	sweep(1)
	calls = wh.calls()
	e.deliver(reminder("r-3", "bob", third), false)
	ahead = 3 * time.Hour
	sweep(0)
	if wh.calls() != calls {
		t.Errorf("a refused notification was retried")
	}
	if n := e.rows("SELECT count(*) FROM notifications"); n != 3 {
		t.Errorf("%d notifications", n)
	}
}

// refusing returns the URL of a port that refuses connections and a function
// that starts h listening there, as a webhook receiver that comes back.
func refusing(t *testing.T, h http.Handler) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/", func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the receiver cannot come back on %s: %v", addr, err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
}

// TestWebhookDownHoldsNoNotification: with a webhook receiver that refuses
// connections, every reminder is answered and its notification stored and
// pushed without a single webhook attempt on the event path; the worker's
// attempts leave every delivery owed; once the receiver is back, each
// notification reaches it exactly once and nothing is lost.
func TestWebhookDownHoldsNoNotification(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	url, back := refusing(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ce map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ce)
		id, _ := ce["id"].(string)
		mu.Lock()
		got[id]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	hook := consumers.Webhook{URL: url, Tries: 3, Timeout: 2 * time.Second}
	e := newEnv(t, consumers.Notify(hook))
	const n = 20
	for i := range n {
		id := fmt.Sprintf("0193f0c2-0000-7000-8000-%012d", i)
		if status := e.deliver(reminder("due-"+id, fmt.Sprintf("user-%d", i%3), id), false); status != http.StatusAccepted {
			t.Fatalf("reminder %d: %d", i, status)
		}
	}
	// Stored and pushed, the webhook not tried yet: it held nothing up.
	if c := e.rows("SELECT count(*) FROM notifications"); c != n {
		t.Fatalf("%d notifications stored, want %d", c, n)
	}
	if c := e.rows("SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.notification.created'"); c != n {
		t.Fatalf("%d live-stream events, want %d", c, n)
	}
	if c := e.rows("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL AND attempts = 0"); c != n {
		t.Fatalf("%d deliveries owed and untried after the events, want %d", c, n)
	}

	ahead := time.Duration(0)
	worker := consumers.NewNotifier(hook, e.st, quiet, func() time.Time { return time.Now().Add(ahead) })
	if tried, err := worker.Sweep(context.Background()); err != nil || tried != n {
		t.Fatalf("sweep while refused: %d %v", tried, err)
	}
	if c := e.rows("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL AND attempts = 1 AND status = 0"); c != n {
		t.Fatalf("%d deliveries owed after a refused go, want %d", c, n)
	}

	back()
	ahead = time.Hour
	if tried, err := worker.Sweep(context.Background()); err != nil || tried != n {
		t.Fatalf("sweep when back: %d %v", tried, err)
	}
	ahead = 2 * time.Hour
	if tried, err := worker.Sweep(context.Background()); err != nil || tried != 0 {
		t.Fatalf("sweep after delivery: %d %v", tried, err)
	}
	mu.Lock()
	defer mu.Unlock()
	eachOnce(t, got, n)
	if c := e.rows("SELECT count(*) FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id WHERE d.delivered_at IS NOT NULL AND d.status = 200"); c != n {
		t.Errorf("%d deliveries done, want %d", c, n)
	}
}

// TestWebhookHungHoldsNoNotification: while the worker's posts hang in a
// receiver that answers nothing, reminders keep being answered, stored and
// pushed; when the receiver lets go, the worker delivers every one.
func TestWebhookHungHoldsNoNotification(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan string, 100)
	var mu sync.Mutex
	got := map[string]int{}
	wh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ce map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ce)
		id, _ := ce["id"].(string)
		arrived <- id
		<-release
		mu.Lock()
		got[id]++
		mu.Unlock()
	}))
	t.Cleanup(wh.Close)
	hook := consumers.Webhook{URL: wh.URL, Tries: 1, Timeout: time.Hour}
	var notifier *consumers.Notifier
	e := newEnv(t, func(d *fn.Deps) map[string]fn.EventHandler {
		notifier = consumers.NewNotifier(hook, d.Store, quiet, time.Now)
		return notifier.Consumers(d)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { notifier.RunWorker(ctx, time.Hour); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	first := "0193f0c2-0000-7000-8000-100000000000"
	if status := e.deliver(reminder("hung-0", "carol", first), false); status != http.StatusAccepted {
		t.Fatalf("first reminder: %d", status)
	}
	<-arrived // the worker's post of the first one now hangs
	const n = 20
	for i := 1; i < n; i++ {
		id := fmt.Sprintf("0193f0c2-0000-7000-8000-1%011d", i)
		if status := e.deliver(reminder(fmt.Sprintf("hung-%d", i), "carol", id), false); status != http.StatusAccepted {
			t.Fatalf("reminder %d: %d", i, status)
		}
	}
	mu.Lock()
	answered := len(got)
	mu.Unlock()
	if answered != 0 {
		t.Fatalf("the receiver answered %d posts while hung", answered)
	}
	if c := e.rows("SELECT count(*) FROM notifications WHERE user_id = 'carol'"); c != n {
		t.Fatalf("%d notifications stored while the webhook hung, want %d", c, n)
	}
	if c := e.rows("SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.notification.created'"); c != n {
		t.Fatalf("%d live-stream events while the webhook hung, want %d", c, n)
	}
	close(release)
	// The worker was woken by each stored notification: it gets to all of
	// them without its interval (an hour) passing.
	for e.rows("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL") != 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	eachOnce(t, got, n)
}

func TestNotifyRefusesBadReminders(t *testing.T) {
	e := newEnv(t, consumers.Notify(consumers.Webhook{}))
	for name, data := range map[string]string{
		"no task":     `{"user_id":"a","title":"x","remind_at":"2027-01-01T00:00:00Z"}`,
		"bad task id": `{"task_id":"x","user_id":"a","title":"x","remind_at":"2027-01-01T00:00:00Z"}`,
		"no user":     `{"task_id":"` + taskA + `","title":"x","remind_at":"2027-01-01T00:00:00Z"}`,
		"extra field": `{"task_id":"` + taskA + `","user_id":"a","title":"x","remind_at":"2027-01-01T00:00:00Z","admin":1}`,
		"no time":     `{"task_id":"` + taskA + `","user_id":"a","title":"x"}`,
		// Both parse, but the year 10000 in UTC would make the user's
		// notification list fail to encode for good.
		"remind_at out of range": `{"task_id":"` + taskA + `","user_id":"a","title":"x","remind_at":"9999-12-31T23:59:59-23:59"}`,
		"due_date out of range":  `{"task_id":"` + taskA + `","user_id":"a","title":"x","remind_at":"2027-01-01T00:00:00Z","due_date":"1899-12-31T00:00:00Z"}`,
	} {
		ev := reminder("bad", "a", taskA)
		_ = ev.SetData("application/json", []byte(data))
		if status := e.deliver(ev, false); status != http.StatusBadRequest {
			t.Errorf("%s: %d", name, status)
		}
	}
	if n := e.rows("SELECT count(*) FROM notifications"); n != 0 {
		t.Errorf("bad reminders stored %d notifications", n)
	}
}

// TestNotifyBurstStoresEachOnce: a burst of reminders delivered concurrently,
// each twice (so that both copies can share a transaction), stores each
// notification, its live-stream event and its webhook delivery exactly once.
func TestNotifyBurstStoresEachOnce(t *testing.T) {
	hook := consumers.Webhook{URL: "http://127.0.0.1:1/", Tries: 1, Timeout: time.Second}
	e := newEnv(t, consumers.Notify(hook))
	const n = 60
	var wg sync.WaitGroup
	statuses := make(chan int, 2*n)
	for i := range 2 * n {
		wg.Go(func() {
			id := fmt.Sprintf("0193f0c2-0000-7000-8000-2%011d", i%n)
			statuses <- e.deliver(reminder(fmt.Sprintf("burst-%d", i%n), fmt.Sprintf("user-%d", i%7), id), false)
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusAccepted {
			t.Fatalf("a reminder of the burst answered %d", s)
		}
	}
	for what, sql := range map[string]string{
		"notifications":      "SELECT count(DISTINCT task_id) FROM notifications",
		"all notifications":  "SELECT count(*) FROM notifications",
		"live-stream events": "SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.notification.created'",
		"webhook deliveries": "SELECT count(*) FROM webhook_deliveries d JOIN notifications n ON n.id = d.notification_id",
	} {
		if c := e.rows(sql); c != n {
			t.Errorf("%s: %d, want %d", what, c, n)
		}
	}
}

// BenchmarkNotifyBurst: 1,000 reminder.due events posted to the notify
// handler by 32 concurrent deliveries (the local Broker's parallelism for an
// unordered source), with no webhook and with a webhook on a port that
// refuses connections; one op is the whole burst, answered and stored.
func BenchmarkNotifyBurst(b *testing.B) {
	for name, url := range map[string]string{"no-webhook": "", "webhook-refused": "http://127.0.0.1:1/"} {
		b.Run(name, func(b *testing.B) { notifyBurst(b, consumers.Webhook{URL: url, Tries: 3, Timeout: time.Second}) })
	}
}

func notifyBurst(b *testing.B, hook consumers.Webhook) {
	st, _ := storetest.New(b)
	st.Source = events.Source("bench")
	srv := httptest.NewServer(fn.Events(quiet, consumers.Notify(hook)(&fn.Deps{Store: st, Log: quiet, Now: time.Now})))
	b.Cleanup(srv.Close)
	const burst, parallel = 1000, 32
	round := 0
	for b.Loop() {
		round++
		next := make(chan int, burst)
		for i := range burst {
			next <- i
		}
		close(next)
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				for i := range next {
					ev := reminder(fmt.Sprintf("b-%d-%d", round, i), "bench", fmt.Sprintf("0193f0c2-0000-7000-8000-%04d%08d", round, i))
					req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
					if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&ev), req); err != nil {
						b.Error(err)
						return
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil || res.StatusCode != http.StatusAccepted {
						b.Errorf("delivery: %v %v", err, res)
						return
					}
					res.Body.Close()
				}
			})
		}
		wg.Wait()
	}
}

// TestWorkerWithoutWebhookLastsUntilStopped: with no webhook configured the
// worker has nothing to post, but it is the notify function's background
// work, and background work that returns before the function stops makes
// fn.Run exit the function; so it returns only when its context ends.
func TestWorkerWithoutWebhookLastsUntilStopped(t *testing.T) {
	n := consumers.NewNotifier(consumers.Webhook{}, nil, quiet, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.RunWorker(ctx, time.Millisecond); close(done) }()
	select {
	case <-done:
		t.Fatal("the worker returned while its function was still running")
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	<-done
}

// eachOnce checks that a webhook receiver got n notifications, each once
// (posts counts the posts of each notification id).
func eachOnce(t *testing.T, posts map[string]int, n int) {
	t.Helper()
	if len(posts) != n {
		t.Errorf("the receiver got %d notifications, want %d", len(posts), n)
	}
	for id, c := range posts {
		if c != 1 {
			t.Errorf("notification %s posted %d times", id, c)
		}
	}
}
