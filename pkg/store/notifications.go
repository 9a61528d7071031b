package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/task"
)

// notificationColumns are a notification's, its pending snooze's time last.
const notificationColumns = `id, user_id, task_id, title, message, remind_at, delivered_at, read,
	(SELECT z.until FROM notification_snoozes z WHERE z.notification_id = notifications.id AND z.fired_at IS NULL)`

func scanNotification(row pgx.Row) (events.Notification, error) {
	var n events.Notification
	var id, taskID uuid.UUID
	err := row.Scan(&id, &n.UserID, &taskID, &n.Title, &n.Message, &n.RemindAt, &n.DeliveredAt, &n.Read, &n.SnoozedUntil)
	n.ID, n.TaskID = id.String(), taskID.String()
	if n.SnoozedUntil != nil {
		u := n.SnoozedUntil.UTC()
		n.SnoozedUntil = &u
	}
	n.RemindAt, n.DeliveredAt = n.RemindAt.UTC(), n.DeliveredAt.UTC()
	return n, err
}

// Notify stores the notification of a reminder once, with its
// notification.created event for the live stream. It returns the stored
// notification (the first one on a redelivery), whether this call created
// it, and whether a webhook delivery of it is still owed.
func (s *Store) Notify(ctx context.Context, n events.Notification) (events.Notification, bool, bool, error) {
	return s.NotifyWebhook(ctx, n, false)
}

// NotifyWebhook is Notify that, when webhook is true, also stores the
// notification's webhook delivery (due at once) in the same transaction, for
// the webhook worker to post (WebhooksDue); a redelivery adds none.
func (s *Store) NotifyWebhook(ctx context.Context, n events.Notification, webhook bool) (events.Notification, bool, bool, error) {
	res, err := s.NotifyMany(ctx, []events.Notification{n}, nil, webhook)
	if err != nil {
		return events.Notification{}, false, false, err
	}
	r := res[0]
	owed := r.Created && webhook
	if !r.Created {
		err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries
			WHERE notification_id = $1 AND delivered_at IS NULL)`, r.ID).Scan(&owed)
	}
	return r.Notification, r.Created, owed, dbErr(err)
}

// Notified is the outcome of one notification of NotifyMany.
type Notified struct {
	events.Notification      // as stored: the first one on a redelivery
	Created             bool // stored by this call
}

// NotifyMany stores many reminders' notifications in one transaction, each
// once (per task and reminder time, also within ns), with their
// notification.created events and, when webhook is true, the webhook
// deliveries of those it creates. Its results are in the order of ns.
// traces, when not nil, holds each notification's trace context (the
// reminder.due event's), which its notification.created event carries;
// otherwise every event carries ctx's.
func (s *Store) NotifyMany(ctx context.Context, ns []events.Notification, traces []Trace, webhook bool) ([]Notified, error) {
	out := make([]Notified, len(ns))
	ids := make([]string, len(ns))
	users, tasks, titles, msgs := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
	remind, delivered := make([]time.Time, len(ns)), make([]time.Time, len(ns))
	for i, n := range ns {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		ids[i], users[i], tasks[i], titles[i], msgs[i] = id.String(), n.UserID, n.TaskID, n.Title, n.Message
		remind[i], delivered[i] = n.RemindAt.Truncate(time.Microsecond), n.DeliveredAt.Truncate(time.Microsecond)
	}
	// The rows go in in (task_id, remind_at) order: concurrent batches then
	// take their unique-key locks in the same order, and a redelivery in one
	// batch and its first copy in another wait for each other instead of
	// deadlocking.
	order := make([]int, len(ns))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(tasks[a], tasks[b]), remind[a].Compare(remind[b]))
	})
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO notifications (id, user_id, task_id, title, message, remind_at, delivered_at)
			SELECT * FROM unnest(@ids::uuid[], @users::text[], @tasks::uuid[], @titles::text[], @messages::text[],
				@remind_at::timestamptz[], @delivered_at::timestamptz[])
			ON CONFLICT (task_id, remind_at) DO NOTHING RETURNING `+notificationColumns,
			pgx.NamedArgs{"ids": permute(ids, order), "users": permute(users, order), "tasks": permute(tasks, order),
				"titles": permute(titles, order), "messages": permute(msgs, order), "remind_at": permute(remind, order),
				"delivered_at": permute(delivered, order)})
		if err != nil {
			return err
		}
		made, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Notification, error) { return scanNotification(r) })
		if err != nil {
			return err
		}
		byID := make(map[string]events.Notification, len(made))
		for _, n := range made {
			byID[n.ID] = n
		}
		type key struct {
			task string
			at   time.Time
		}
		var missing []int
		for i, id := range ids {
			if n, ok := byID[id]; ok {
				out[i] = Notified{Notification: n, Created: true}
			} else {
				missing = append(missing, i)
			}
		}
		if len(missing) > 0 { // redeliveries: the notifications stored before
			mt, ma := make([]string, len(missing)), make([]time.Time, len(missing))
			for j, i := range missing {
				mt[j], ma[j] = tasks[i], remind[i]
			}
			rows, err := tx.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
				WHERE (task_id, remind_at) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]))`, mt, ma)
			if err != nil {
				return err
			}
			old, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Notification, error) { return scanNotification(r) })
			if err != nil {
				return err
			}
			byKey := make(map[key]events.Notification, len(old))
			for _, n := range old {
				byKey[key{n.TaskID, n.RemindAt.UTC()}] = n
			}
			for _, i := range missing {
				n, ok := byKey[key{tasks[i], remind[i].UTC()}]
				if !ok {
					return fmt.Errorf("notification of task %s at %s neither stored nor found", tasks[i], remind[i])
				}
				out[i] = Notified{Notification: n}
			}
		}
		if len(made) == 0 {
			return nil
		}
		evs := make([]events.Event, len(made))
		owed := make([]string, len(made))
		from := make(map[string]int, len(ids)) // a stored notification's index in ns
		for i, id := range ids {
			from[id] = i
		}
		for i, n := range made {
			evs[i], owed[i] = events.Notified(s.Source, n), n.ID
		}
		if webhook {
			if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (notification_id, next_at)
				SELECT unnest($1::uuid[]), now()`, owed); err != nil {
				return err
			}
		}
		if traces == nil {
			return s.writeEvents(ctx, tx, evs)
		}
		return s.writeEventsEach(ctx, tx, evs, func(i int) (string, string) {
			t := traces[from[made[i].ID]]
			return t.Parent, t.State
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// permute is v in the order order gives: element k is v[order[k]].
func permute[T any](v []T, order []int) []T {
	out := make([]T, len(order))
	for k, i := range order {
		out[k] = v[i]
	}
	return out
}

// Trace is a W3C trace context: traceparent and tracestate.
type Trace struct{ Parent, State string }

// WebhookDone records the webhook's final answer for a notification (0: no
// answer, given up): the delivery is done and may be purged.
func (s *Store) WebhookDone(ctx context.Context, id string, status int) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET delivered_at = now(), status = $2,
		attempts = attempts + 1 WHERE notification_id = $1`, id, status)
	return dbErr(err)
}

// Notifications lists the user's notifications, newest first, after the
// cursor (delivered_at, id) when given.
func (s *Store) Notifications(ctx context.Context, user string, limit int, after *task.Cursor) ([]events.Notification, *task.Cursor, error) {
	args := []any{user, limit + 1}
	where := ""
	if after != nil {
		at, _ := time.Parse(time.RFC3339Nano, after.Value)
		args = append(args, at, after.ID)
		where = " AND (delivered_at, id) < ($3, $4::uuid)"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE user_id = $1`+where+` ORDER BY delivered_at DESC, id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, nil, dbErr(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, nil, dbErr(err)
	}
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		c := task.Cursor{Sort: "delivered_at", Desc: true, Value: last.DeliveredAt.Format(time.RFC3339Nano), ID: last.ID}
		return items, &c, nil
	}
	return items, nil, nil
}

// MarkRead sets the read flag of the user's notification and returns it.
func (s *Store) MarkRead(ctx context.Context, user, id string, read bool) (events.Notification, error) {
	n, err := scanNotification(s.pool.QueryRow(ctx, `UPDATE notifications SET read = $3
		WHERE user_id = $1 AND id = $2 RETURNING `+notificationColumns, user, id, read))
	return n, dbErr(err)
}

// WebhookLater records a failed webhook attempt (status 0: no answer) and
// when to try again.
func (s *Store) WebhookLater(ctx context.Context, id string, status int, next time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2,
		next_at = $3 WHERE notification_id = $1 AND delivered_at IS NULL`, id, status, next)
	return dbErr(err)
}

// OwedWebhook is a notification whose webhook delivery is due again.
type OwedWebhook struct {
	events.Notification
	Attempts int
}

// WebhooksDue claims up to limit owed deliveries whose time has come, oldest
// first, pushing their next time forward by lease so that a concurrent
// worker skips them.
func (s *Store) WebhooksDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OwedWebhook, error) {
	rows, err := s.pool.Query(ctx, `WITH claimed AS (
			UPDATE webhook_deliveries SET next_at = $2
			WHERE notification_id IN (SELECT notification_id FROM webhook_deliveries
				WHERE delivered_at IS NULL AND next_at <= $1 ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING notification_id, attempts)
		SELECT n.id, n.user_id, n.task_id, n.title, n.message, n.remind_at, n.delivered_at, n.read, c.attempts
		FROM claimed c JOIN notifications n ON n.id = c.notification_id ORDER BY n.delivered_at`, now, now.Add(lease), limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OwedWebhook, error) {
		var o OwedWebhook
		var id, taskID uuid.UUID
		err := r.Scan(&id, &o.UserID, &taskID, &o.Title, &o.Message, &o.RemindAt, &o.DeliveredAt, &o.Read, &o.Attempts)
		o.ID, o.TaskID = id.String(), taskID.String()
		o.RemindAt, o.DeliveredAt = o.RemindAt.UTC(), o.DeliveredAt.UTC()
		return o, err
	})
	return out, dbErr(err)
}
