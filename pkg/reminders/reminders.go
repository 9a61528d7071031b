package reminders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Grace is how late a reminder may still be scheduled and fired: a reminder
// time further in the past is not reminded of.
const Grace = time.Hour

// Config is the reminder function's environment.
type Config struct {
	fn.Base
	fn.Database
	DaprGRPC  string        `envconfig:"DAPR_GRPC_ENDPOINT" default:"127.0.0.1:50001" desc:"the Dapr sidecar's gRPC address (the Jobs API)"`
	Reconcile time.Duration `envconfig:"TASKFLOW_RECONCILE_INTERVAL" default:"1m" desc:"how often the Dapr jobs are reconciled with PostgreSQL"`
}

// Function is the reminder function: task.* events at its root, Dapr's job
// callbacks at /job/<name>, and the reconciler in the background (at start,
// then every cfg.Reconcile).
func Function(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	svc := &Service{Store: d.Store, Jobs: &DaprJobs{Addr: cfg.DaprGRPC}, Log: d.Log, Now: d.Now}
	return &fn.Function{
		Events:   svc.Consumers(d),
		Handlers: map[string]http.Handler{"POST /job/": svc.JobHandler()},
		Start: func(ctx context.Context) error {
			svc.RunReconciler(ctx, cfg.Reconcile)
			return nil
		},
	}, nil
}

// Service keeps the jobs of reminders in step with the tasks.
type Service struct {
	Store *store.Store
	Jobs  Jobs
	Log   *slog.Logger
	Now   func() time.Time
	// Repaired counts jobs the reconciler had to make again.
	Repaired atomic.Int64
}

// Consumers handles every task.* event: whatever the event says, the job is
// set from the task as it is now in PostgreSQL, so late or reordered events
// cannot leave a stale job behind.
func (s *Service) Consumers(*fn.Deps) map[string]fn.EventHandler {
	h := func(ctx context.Context, e cloudevents.Event) error {
		var d events.TaskData
		if err := json.Unmarshal(e.Data(), &d); err != nil || d.UserID == "" || d.Task.ID == "" {
			return errs.Invalidf("event data lacks user_id or task.id")
		}
		if d.Task.ReminderTime == nil && (d.Previous == nil || d.Previous.ReminderTime == nil) {
			// Never had a reminder, or they were cleared before (and their
			// jobs deleted then): nothing to do, no call to Dapr.
			return nil
		}
		// The jobs to delete beyond the task's reminders now: as many as
		// it had, before or after the change (reminder_time alone, in an
		// event from before reminders existed, counts as one).
		had := max(count(&d.Task), count(d.Previous))
		return s.sync(ctx, d.UserID, d.Task.ID, had, e.Type() != events.TaskCreated)
	}
	snoozed := func(ctx context.Context, e cloudevents.Event) error {
		var d events.SnoozeData
		if err := json.Unmarshal(e.Data(), &d); err != nil || d.UserID == "" || d.NotificationID == "" {
			return errs.Invalidf("event data lacks user_id or notification_id")
		}
		return s.SyncSnooze(ctx, d.UserID, d.NotificationID)
	}
	// A skipped occurrence is done with as a completed one is: its jobs go.
	return map[string]fn.EventHandler{events.TaskCreated: h, events.TaskUpdated: h, events.TaskCompleted: h,
		events.TaskSkipped: h, events.TaskDeleted: h, events.ReminderSnoozed: snoozed}
}

// count is how many reminders t has (nil: none).
func count(t *task.Task) int {
	switch {
	case t == nil:
		return 0
	case len(t.Reminders) > 0:
		return len(t.Reminders)
	case t.ReminderTime != nil:
		return 1
	}
	return 0
}

// Sync schedules, moves or deletes the task's jobs to match its reminders:
// one job per reminder still to fire (JobName(task, n)), every other job
// number deleted, and the job a reminder had before tasks had several.
func (s *Service) Sync(ctx context.Context, user, taskID string) error {
	return s.sync(ctx, user, taskID, task.MaxReminders, true)
}

// sync is Sync deleting only job numbers below had, and the legacy job only
// when legacy is set (a task created since has none).
func (s *Service) sync(ctx context.Context, user, taskID string, had int, legacy bool) error {
	rs, err := s.Store.TaskReminders(ctx, user, taskID)
	if err != nil {
		return err
	}
	since := s.Now().Add(-Grace)
	for n := range max(len(rs), had) {
		switch {
		case n < len(rs) && rs[n].Fired: // its job is done
		case n < len(rs) && rs[n].RemindAt.After(since):
			err = s.Jobs.Schedule(ctx, rs[n])
		default:
			err = s.Jobs.Delete(ctx, JobName(taskID, n))
		}
		if err != nil {
			return errs.Wrap(errs.ErrUnavailable, "dapr jobs", err)
		}
	}
	if legacy {
		if err := s.Jobs.Delete(ctx, LegacyJobName(taskID)); err != nil {
			return errs.Wrap(errs.ErrUnavailable, "dapr jobs", err)
		}
	}
	return nil
}

// SyncSnooze schedules the job of the user's snoozed notification id
// (SnoozeJobName, named by its time) to match its pending snooze. A job of
// an earlier snooze time is left to fire and find itself moved: it sends
// nothing.
func (s *Service) SyncSnooze(ctx context.Context, user, id string) error {
	r, err := s.Store.PendingSnooze(ctx, user, id)
	if err != nil || r == nil || !r.RemindAt.After(s.Now().Add(-Grace)) {
		return err
	}
	if err := s.Jobs.Schedule(ctx, *r); err != nil {
		return errs.Wrap(errs.ErrUnavailable, "dapr jobs", err)
	}
	return nil
}

// JobHandler serves Dapr's job callbacks (POST /job/<name>): the reminder
// fires if it is still current. A failure answers 500 so that Dapr tries
// again; the reconciler re-creates what Dapr gives up on.
func (s *Service) JobHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/job/")
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			fn.WriteError(w, r, s.Log, errs.Invalidf("bad job callback"))
			return
		}
		fn.SetRoute(r, "/job/{name}")
		rem, raw, err := jobPayload(body)
		ctx, span := telemetry.Tracer().Start(telemetry.WithTraceParent(r.Context(), raw.TraceParent, raw.TraceState), "reminder job",
			trace.WithLinks(trace.LinkFromContext(r.Context())))
		defer span.End()
		r = r.WithContext(ctx)
		if err != nil || !nameFits(name, rem) {
			s.Log.Warn("job callback without a reminder; dropped", "job", name, "error", err)
			w.WriteHeader(http.StatusOK) // nothing will make it valid
			return
		}
		now := s.Now()
		if now.Before(rem.RemindAt) { // never early: come back at the time
			if err := s.Jobs.RetryAt(r.Context(), rem, rem.RemindAt); err != nil {
				fn.WriteError(w, r, s.Log, fmt.Errorf("reschedule the early job of %s: %w", rem.TaskID, err))
				return
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		fired, err := s.Store.FireReminder(r.Context(), rem, now.UTC())
		if err != nil {
			s.retry(w, r, rem, now, err)
			return
		}
		if fired {
			telemetry.ReminderLateness.Observe(now.Sub(rem.RemindAt).Seconds())
		}
		w.WriteHeader(http.StatusOK)
	})
}

// nameFits reports whether a job called name may carry r: its own job, a
// retry of it, or the job a task's reminder had before tasks had several.
func nameFits(name string, r store.Reminder) bool {
	if r.NotificationID != "" {
		return strings.HasPrefix(name, "snooze-"+r.NotificationID+"-")
	}
	return strings.HasPrefix(name, LegacyJobName(r.TaskID))
}

// retry is TaskFlow's failure policy for a reminder that could not fire (the
// database unreachable, say): Dapr 1.15's jobs retry three times in three
// seconds, so the job is scheduled again, further off as the reminder gets
// later (1 s up to a minute), until it is an hour late. If even that fails,
// the 500 leaves it to Dapr's own retries and then to the reconciler.
func (s *Service) retry(w http.ResponseWriter, r *http.Request, rem store.Reminder, now time.Time, cause error) {
	late := now.Sub(rem.RemindAt)
	if late > Grace {
		s.Log.Error("reminder given up: an hour late and still failing", "task", rem.TaskID, "error", cause)
		w.WriteHeader(http.StatusOK)
		return
	}
	wait := min(max(late/2, time.Second), time.Minute)
	if err := s.Jobs.RetryAt(r.Context(), rem, now.Add(wait)); err != nil {
		s.Log.Error("reminder not fired and not rescheduled; Dapr will retry", "task", rem.TaskID, "error", cause, "reschedule", err)
		fn.WriteError(w, r, nil, errors.New("reminder not fired")) // logged just above
		return
	}
	s.Log.Warn("reminder not fired; retrying", "task", rem.TaskID, "in", wait, "error", cause)
	w.WriteHeader(http.StatusOK)
}

// Reconcile makes sure every unfired reminder in PostgreSQL has its job,
// re-creating the missing ones; it returns how many it repaired.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	pending, err := s.Store.PendingReminders(ctx, s.Now().Add(-Grace), 100_000)
	if err != nil {
		return 0, err
	}
	repaired := 0
	for _, r := range pending {
		ok, err := s.Jobs.Exists(ctx, jobOf(r))
		if err != nil {
			return repaired, err
		}
		if ok {
			continue
		}
		if err := s.Jobs.Schedule(ctx, r); err != nil {
			return repaired, err
		}
		repaired++
		s.Log.Warn("reminder job was missing; re-created", "task", r.TaskID, "remind_at", r.RemindAt)
	}
	s.Repaired.Add(int64(repaired))
	telemetry.ReconcilerRepairs.Add(float64(repaired))
	return repaired, nil
}

// RunReconciler reconciles at start and then every interval until ctx ends.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration) {
	for {
		n, err := s.Reconcile(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.Log.Warn("reconcile failed; will retry", "error", err)
		case n > 0:
			s.Log.Info("reconciled reminders", "repaired", n, "total_repaired", s.Repaired.Load())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
