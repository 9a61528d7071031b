package consumers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" on webhook calls.
const SignatureHeader = "X-TaskFlow-Signature"

// Webhook is where notifications are posted, as structured CloudEvents.
type Webhook struct {
	URL    string `envconfig:"TASKFLOW_NOTIFY_WEBHOOK"`
	Secret string `envconfig:"TASKFLOW_NOTIFY_WEBHOOK_SECRET"`
	// Tries within one delivery of the event; the Trigger's retries come on top.
	Tries   int           `envconfig:"TASKFLOW_NOTIFY_WEBHOOK_TRIES" default:"3"`
	Timeout time.Duration `envconfig:"TASKFLOW_NOTIFY_WEBHOOK_TIMEOUT" default:"5s"`
}

// Sign is the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify turns each reminder.due into one in-app notification (pushed to the
// live stream through task-updates) and posts it to the webhook. A webhook
// that fails (5xx, 429, timeout) makes the event fail, so the Trigger retries
// it later; a webhook that refuses it (other 4xx) is not asked again.
func Notify(wh Webhook) fn.Consumers {
	client := &http.Client{Timeout: wh.Timeout}
	return func(d *fn.Deps) map[string]fn.EventHandler {
		return map[string]fn.EventHandler{events.ReminderDue: func(ctx context.Context, e cloudevents.Event) error {
			var r events.ReminderData
			dec := json.NewDecoder(bytes.NewReader(e.Data()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil || uuid.Validate(r.TaskID) != nil || r.UserID == "" || r.RemindAt.IsZero() {
				return errs.Invalidf("reminder.due data must have task_id, user_id, title and remind_at")
			}
			msg := "Reminder: " + r.Title
			if r.DueDate != nil {
				msg += " (due " + r.DueDate.UTC().Format(time.RFC3339) + ")"
			}
			n, _, owed, err := d.Store.Notify(ctx, events.Notification{UserID: r.UserID, TaskID: r.TaskID, Title: r.Title,
				Message: msg, RemindAt: r.RemindAt.UTC(), DeliveredAt: d.Now().UTC()})
			if err != nil || !owed || wh.URL == "" {
				return err
			}
			status, err := post(ctx, client, wh, d.Store.Source, n)
			switch {
			case err == nil && status/100 == 2, err == nil && status/100 == 4 && status != 408 && status != 429:
				if status/100 == 4 {
					d.Log.WarnContext(ctx, "webhook refused the notification; not retried", "notification", n.ID, "status", status)
				}
				return d.Store.WebhookDone(ctx, n.ID, status)
			default:
				return fmt.Errorf("%w: webhook: status %d: %v", errs.ErrUnavailable, status, err)
			}
		}}
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
