package consumers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/events"
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
// notification and one signed webhook call; a webhook that is down gets the
// notification from the sweeper when it is back; one that refuses it is not
// asked again.
func TestNotifyOnceSignedAndRetried(t *testing.T) {
	wh := newWebhook(t)
	hook := consumers.Webhook{URL: wh.srv.URL, Secret: "hook-secret", Tries: 2, Timeout: 2 * time.Second}
	e := newEnv(t, consumers.Notify(hook))
	for i := range 3 {
		if status := e.deliver(reminder("r-1", "alice", taskA), i == 1); status != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, status)
		}
	}
	if n := e.rows("SELECT count(*) FROM notifications WHERE user_id = 'alice' AND title = 'Pay rent'"); n != 1 {
		t.Fatalf("%d notifications for one reminder", n)
	}
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

	// The webhook is down: the notification is stored and its delivery owed;
	// the sweeper delivers it, once, when the webhook is back.
	wh.set(503)
	other := "0193f0c2-0000-7000-8000-00000000000b"
	if status := e.deliver(reminder("r-2", "alice", other), false); status != http.StatusAccepted {
		t.Fatalf("webhook down answered %d", status)
	}
	if n := e.rows("SELECT count(*) FROM notifications WHERE task_id = '" + other + "' AND webhook_delivered_at IS NULL AND webhook_next_at IS NOT NULL"); n != 1 {
		t.Fatalf("notification not owed while the webhook is down: %d", n)
	}
	ahead := time.Hour // the sweeper's clock, moved forward past each retry time
	later := consumers.NewNotifier(hook, e.st, quiet, func() time.Time { return time.Now().Add(ahead) })
	if n, err := later.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep while down: %d %v", n, err)
	}
	calls := wh.calls()
	wh.set(200)
	ahead = 2 * time.Hour
	if n, err := later.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep when back: %d %v", n, err)
	}
	if wh.calls() != calls+1 {
		t.Errorf("webhook calls %d, want %d", wh.calls(), calls+1)
	}
	e.deliver(reminder("r-2", "alice", other), false)
	if n, _ := later.Sweep(context.Background()); n != 0 || wh.calls() != calls+1 {
		t.Errorf("a delivered notification was posted again")
	}

	// A 4xx is final.
	wh.set(400)
	third := "0193f0c2-0000-7000-8000-00000000000c"
	if status := e.deliver(reminder("r-3", "bob", third), false); status != http.StatusAccepted {
		t.Fatalf("refused by webhook: %d", status)
	}
	calls = wh.calls()
	e.deliver(reminder("r-3", "bob", third), false)
	if wh.calls() != calls {
		t.Errorf("a refused notification was retried")
	}
	if n := e.rows("SELECT count(*) FROM notifications"); n != 3 {
		t.Errorf("%d notifications", n)
	}
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
