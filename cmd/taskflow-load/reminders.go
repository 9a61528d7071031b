package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// reminders creates -requests tasks whose reminders are all due in the same
// second (-duration from now), or with -per-task n, n reminders each, 12 s
// apart and all of them spread evenly over the same minute, waits for them, and reports from PostgreSQL
// how many fired, whether any fired early, and how late they fired (the
// reminder function's reminders_fired) and arrived as notifications, and
// how much of that came after the firing.
func reminders(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	db, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer db.Close(ctx)
	at := time.Now().Add(o.duration).Truncate(time.Second).Add(time.Second).UTC()
	run := fmt.Sprintf("rem-%d", time.Now().UnixNano())
	if o.perTask < 1 || o.perTask > 5 {
		return fmt.Errorf("%w: -per-task must be 1..5", errUsage)
	}
	body := func(i int) string {
		if o.perTask == 1 {
			return fmt.Sprintf(`{"title":"%s %d","reminder_time":%q}`, run, i, at.Format(time.RFC3339))
		}
		// Task i's reminder k is due (i + 12k) mod 60 seconds after at: each
		// task's reminders 12 s apart, all of them spread evenly over one
		// minute.
		rs := ""
		for k := range o.perTask {
			if k > 0 {
				rs += ","
			}
			rs += fmt.Sprintf(`{"at":%q}`, at.Add(time.Duration((i+12*k)%60)*time.Second).Format(time.RFC3339))
		}
		return fmt.Sprintf(`{"title":"%s %d","due_date":%q,"reminders":[%s]}`, run, i, at.Add(time.Minute).Format(time.RFC3339), rs)
	}
	p := pool{Clients: o.clients, Requests: o.requests, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, i int, _ *rand.Rand) (time.Duration, error) {
		d, _, err := a.expect(ctx, http.StatusCreated, http.MethodPost, "/api/tasks", body(i))
		return d, err
	})
	if err != nil {
		return err
	}
	failed, writeLat := res.errors, res.lat
	fmt.Fprintf(o.out, "reminders: created %d (failed %d) due at %s; create %s\n", o.requests-failed, failed, at.Format(time.RFC3339), summary(writeLat))
	if time.Now().After(at) {
		return fmt.Errorf("the creates took longer than -duration; use a longer lead")
	}
	const q = `SELECT f.fired_at - f.remind_at FROM reminders_fired f JOIN tasks t ON t.id = f.task_id
		WHERE t.user_id = $1 AND t.title LIKE $2`
	const qn = `SELECT n.delivered_at - n.remind_at FROM notifications n JOIN tasks t ON t.id = n.task_id
		WHERE t.user_id = $1 AND t.title LIKE $2`
	// The part of the lateness after the firing: the outbox, the relay,
	// Kafka, the Broker and the notify function.
	const qp = `SELECT n.delivered_at - f.fired_at FROM notifications n JOIN reminders_fired f
		ON f.task_id = n.task_id AND f.remind_at = n.remind_at JOIN tasks t ON t.id = n.task_id
		WHERE t.user_id = $1 AND t.title LIKE $2`
	collect := func(sql string) ([]time.Duration, error) {
		rows, err := db.Query(ctx, sql, o.user, run+" %")
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[time.Duration])
	}
	var fired, notified []time.Duration
	for deadline := at.Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if fired, err = collect(q); err != nil {
			return err
		}
		if notified, err = collect(qn); err != nil {
			return err
		}
		if len(fired) == (o.requests-failed)*o.perTask && len(notified) == len(fired) {
			break
		}
	}
	early := 0
	for _, d := range fired {
		if d < 0 {
			early++
		}
	}
	fmt.Fprintf(o.out, "fired %d of %d, early %d; lateness (fired_at - remind_at) %s\n", len(fired), (o.requests-failed)*o.perTask, early, summary(fired))
	fmt.Fprintf(o.out, "notified %d; lateness to the notification (delivered_at - remind_at) %s\n", len(notified), summary(notified))
	after, err := collect(qp)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "firing to the notification (delivered_at - fired_at) %s\n", summary(after))
	return nil
}
