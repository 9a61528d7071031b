package consumers

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" on webhook calls.
const SignatureHeader = "X-TaskFlow-Signature"

// Webhook is where notifications are posted, as structured CloudEvents.
type Webhook struct {
	URL    string `envconfig:"TASKFLOW_NOTIFY_WEBHOOK" desc:"URL each notification is POSTed to as a structured CloudEvent; empty: none"`
	Secret string `envconfig:"TASKFLOW_NOTIFY_WEBHOOK_SECRET" desc:"HMAC-SHA256 key of the X-TaskFlow-Signature header"`
	// Tries within one go of the webhook worker; owed deliveries are tried again later.
	Tries   int           `envconfig:"TASKFLOW_NOTIFY_WEBHOOK_TRIES" default:"3" desc:"webhook attempts in one go of the webhook worker, before the delivery is owed again later"`
	Timeout time.Duration `envconfig:"TASKFLOW_NOTIFY_WEBHOOK_TIMEOUT" default:"5s" desc:"time limit of one webhook call"`
}

// NotifyConfig is the notify function's environment.
type NotifyConfig struct {
	fn.Base
	fn.Database
	Webhook
}

// NotifyFunction is the notify function: reminder.due events in, and the
// webhook worker posting the owed webhook deliveries in the background.
func NotifyFunction(_ context.Context, cfg *NotifyConfig, d *fn.Deps) (*fn.Function, error) {
	n := NewNotifier(cfg.Webhook, d.Store, d.Log, d.Now)
	return &fn.Function{Events: n.Consumers(d), Start: func(ctx context.Context) error {
		n.RunWorker(ctx, time.Second)
		return nil
	}}, nil
}

// Sign is the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notifier turns each reminder.due into one in-app notification (pushed to
// the live stream through task-updates) and, when a webhook is configured, a
// webhook delivery stored with it in one transaction. The webhook worker
// (RunWorker) posts deliveries apart from the events, so a webhook that is
// slow or down never holds up a notification: each is tried Webhook.Tries
// times within one go and, while not taken, again further apart each time
// (1 s up to 5 min) for a day; a webhook that refuses one (a 4xx other than
// 408 and 429) is not asked again.
type Notifier struct {
	Webhook Webhook
	Store   *store.Store
	Log     *slog.Logger
	Now     func() time.Time
	client  *http.Client
	wake    chan struct{}

	mu      sync.Mutex
	pending []*toStore
	writers int
}

// toStore is a notification waiting for its transaction.
type toStore struct {
	n       events.Notification
	trace   store.Trace // the reminder.due event's, for its notification.created
	created bool
	err     error
	done    chan struct{}
}

// Writers bounds the transactions the notify handlers have open at once, and
// Batch the notifications in one: under a burst, the deliveries that arrive
// while the transactions are busy are stored together in the next, so a
// thousand reminders due in the same second take tens of commits, not a
// thousand; a lone reminder has a transaction to itself at once.
const (
	Writers = 4
	Batch   = 100
)

// store stores n (and its webhook delivery) in the next transaction with
// room and reports whether it created it.
func (n *Notifier) store(ctx context.Context, notif events.Notification) (bool, error) {
	parent, state := telemetry.TraceParent(ctx)
	w := &toStore{n: notif, trace: store.Trace{Parent: parent, State: state}, done: make(chan struct{})}
	n.mu.Lock()
	n.pending = append(n.pending, w)
	if n.writers < Writers {
		n.writers++
		go n.write()
	}
	n.mu.Unlock()
	select {
	case <-w.done:
		return w.created, w.err
	case <-ctx.Done():
		// It may still be stored: a redelivery finds it and is acknowledged.
		return false, ctx.Err()
	}
}

// write stores the pending notifications, a batch per transaction, until
// none is left.
func (n *Notifier) write() {
	for {
		n.mu.Lock()
		batch := n.pending[:min(len(n.pending), Batch)]
		n.pending = n.pending[len(batch):]
		if len(batch) == 0 {
			n.pending = nil
			n.writers--
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		// Delivered as of this transaction, not as of the event's arrival.
		ns, traces, now := make([]events.Notification, len(batch)), make([]store.Trace, len(batch)), n.Now().UTC()
		for i, w := range batch {
			ns[i], traces[i] = w.n, w.trace
			ns[i].DeliveredAt = now
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := n.Store.NotifyMany(ctx, ns, traces, n.Webhook.URL != "")
		cancel()
		for i, w := range batch {
			if err != nil {
				w.err = err
			} else {
				w.created = res[i].Created
			}
			close(w.done)
		}
	}
}

// GiveUp is how long an owed webhook delivery is retried.
const GiveUp = 24 * time.Hour

// Parallel bounds the webhook posts the worker has in flight at once.
const Parallel = 16

// NewNotifier builds a notifier; its HTTP client is shared by the webhook
// worker's posts, so it is made here, once.
func NewNotifier(wh Webhook, st *store.Store, log *slog.Logger, now func() time.Time) *Notifier {
	return &Notifier{Webhook: wh, Store: st, Log: log, Now: now, client: &http.Client{Timeout: wh.Timeout},
		wake: make(chan struct{}, 1)}
}

// Notify builds the notify function's event handlers.
func Notify(wh Webhook) fn.Consumers {
	return func(d *fn.Deps) map[string]fn.EventHandler {
		return NewNotifier(wh, d.Store, d.Log, d.Now).Consumers(d)
	}
}

// Consumers handles reminder.due: it stores the notification (and its
// webhook delivery) and answers; it never waits for the webhook.
func (n *Notifier) Consumers(*fn.Deps) map[string]fn.EventHandler {
	return map[string]fn.EventHandler{events.ReminderDue: func(ctx context.Context, e cloudevents.Event) error {
		var r events.ReminderData
		dec := json.NewDecoder(bytes.NewReader(e.Data()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil || !task.ValidID(r.TaskID) || r.UserID == "" || r.RemindAt.IsZero() {
			return errs.Invalidf("reminder.due data must have task_id, user_id, title and remind_at")
		}
		// A time outside TaskFlow's dates would be stored and then fail to
		// encode in every list of the user's notifications.
		if !task.InRange(r.RemindAt) || (r.DueDate != nil && !task.InRange(*r.DueDate)) {
			return errs.Invalidf("reminder.due remind_at and due_date must be from " + task.MinTime.Format(time.RFC3339) +
				" to " + task.MaxTime.Format(time.RFC3339))
		}
		msg := "Reminder: " + r.Title
		if r.DueDate != nil {
			msg += " (due " + r.DueDate.UTC().Format(time.RFC3339) + ")"
		}
		fresh, err := n.store(ctx, events.Notification{UserID: r.UserID, TaskID: r.TaskID, Title: r.Title,
			Message: msg, RemindAt: r.RemindAt.UTC()})
		if err != nil {
			return err
		}
		if !fresh {
			telemetry.Duplicates.WithLabelValues("notify").Inc()
		} else if n.Webhook.URL != "" {
			n.Wake()
		}
		return nil
	}}
}

// Wake tells the webhook worker that a delivery is owed now.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// deliver posts one notification and records the outcome: done, refused for
// good, or owed again later. Only a database failure is an error.
func (n *Notifier) deliver(ctx context.Context, notif events.Notification, attempts int) error {
	status, err := post(ctx, n.client, n.Webhook, n.Store.Source, notif)
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the lease runs out and the delivery is claimed again
	}
	final := err == nil && (status/100 == 2 || (status/100 == 4 && status != 408 && status != 429))
	now := n.Now()
	if !final && now.Sub(notif.DeliveredAt) > GiveUp {
		n.Log.ErrorContext(ctx, "webhook still failing after a day; given up", "notification", notif.ID, "status", status, "error", err)
		final = true
	}
	if final {
		if status/100 == 4 {
			n.Log.WarnContext(ctx, "webhook refused the notification; not retried", "notification", notif.ID, "status", status)
		}
		return n.Store.WebhookDone(ctx, notif.ID, status)
	}
	wait := min(time.Second<<min(attempts, 9), 5*time.Minute)
	n.Log.WarnContext(ctx, "webhook failed; will retry", "notification", notif.ID, "status", status, "error", err, "in", wait)
	return n.Store.WebhookLater(ctx, notif.ID, status, now.Add(wait))
}

// sweepBatch is how many owed deliveries Sweep claims at once.
const sweepBatch = 100

// Sweep posts the owed webhook deliveries whose time has come, up to
// Parallel at once, and returns how many it tried (at most 100: call it
// again while it returns 100). A claimed delivery is leased for a minute,
// longer than Tries posts with their timeouts take, so that another replica
// skips it.
func (n *Notifier) Sweep(ctx context.Context) (int, error) {
	if n.Webhook.URL == "" {
		return 0, nil
	}
	due, err := n.Store.WebhooksDue(ctx, n.Now(), time.Minute, sweepBatch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, Parallel)
	)
	for _, o := range due {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := n.deliver(ctx, o.Notification, o.Attempts); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(due), first
}

// RunWorker is the webhook worker: it sweeps when a notification is stored
// (Wake), at least every interval for the deliveries owed again, and at once
// again after a full batch, until ctx ends.
func (n *Notifier) RunWorker(ctx context.Context, interval time.Duration) {
	if n.Webhook.URL == "" {
		<-ctx.Done() // nothing to post; background work lasts as long as the function
		return
	}
	for {
		tried, err := n.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			n.Log.Warn("webhook sweep failed", "error", err)
		}
		if err == nil && tried == sweepBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-time.After(interval):
		}
	}
}

// post sends n as a structured CloudEvent (id = the notification id, so a
// receiver can drop repeats), retrying with backoff.
func post(ctx context.Context, client *http.Client, wh Webhook, source string, n events.Notification) (int, error) {
	ev := events.Notified(source, n)
	ev.ID = n.ID
	ce, err := kafka.CloudEvent(ev)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(ce)
	if err != nil {
		return 0, err
	}
	var status int
	wait := 200 * time.Millisecond
	for try := 1; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/cloudevents+json")
		if wh.Secret != "" {
			req.Header.Set(SignatureHeader, Sign(wh.Secret, body))
		}
		res, err := client.Do(req)
		status = 0
		if err == nil {
			status = res.StatusCode
			res.Body.Close()
			if status < 500 && status != 429 && status != 408 {
				return status, nil
			}
		}
		if try >= max(wh.Tries, 1) {
			return status, err
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}
