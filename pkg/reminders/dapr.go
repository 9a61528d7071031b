// Package reminders keeps one Dapr Job per pending reminder (scheduled,
// moved and cancelled as tasks change), fires reminder.due when Dapr calls
// back and the reminder is still current, and reconciles the jobs with
// PostgreSQL so that a job Dapr lost is made again.
package reminders

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	runtimev1 "github.com/dapr/dapr/pkg/proto/runtime/v1"
	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Jobs is what reminders need of a job scheduler.
type Jobs interface {
	Schedule(ctx context.Context, r store.Reminder) error
	// RetryAt schedules r's job again at a later time, for a callback that failed.
	RetryAt(ctx context.Context, r store.Reminder, at time.Time) error
	// Delete removes the job named name (JobName, LegacyJobName, SnoozeJobName).
	Delete(ctx context.Context, name string) error
	Exists(ctx context.Context, name string) (bool, error)
}

// JobName is the deterministic job of a task's reminder number n (0 up to
// task.MaxReminders-1, its position among the task's reminders by instant).
// Scheduling a name again replaces its job.
func JobName(taskID string, n int) string { return fmt.Sprintf("reminder-%s-%d", taskID, n) }

// LegacyJobName is the one job a task's reminder had before tasks had
// several: such a job still fires (its payload says which instant), and Sync
// deletes it when the task changes.
func LegacyJobName(taskID string) string { return "reminder-" + taskID }

// SnoozeJobName is the job of a snoozed notification firing again at until.
// The time is part of the name: snoozing again makes a new job instead of
// replacing one, so a sync that read an older snooze and lands after a newer
// one's (the snooze Trigger delivers unordered) cannot replace the newer job.
// The older job fires, finds its snooze moved, and sends nothing.
func SnoozeJobName(notificationID string, until time.Time) string {
	return "snooze-" + notificationID + "-" + strconv.FormatInt(until.Unix(), 10)
}

// jobOf is the job that fires r.
func jobOf(r store.Reminder) string {
	if r.NotificationID != "" {
		return SnoozeJobName(r.NotificationID, r.RemindAt)
	}
	return JobName(r.TaskID, r.N)
}

// DaprJobs schedules through a Dapr sidecar's Jobs API (gRPC). It connects
// on first use, so the function starts without waiting for its sidecar.
type DaprJobs struct {
	Addr string
	mu   sync.Mutex
	c    dapr.Client
}

func (d *DaprJobs) client(ctx context.Context) (dapr.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		return d.c, nil
	}
	// gRPC's default reconnect backoff grows to two minutes: after a sidecar
	// restart the jobs would wait that long. Retry within two seconds instead
	// (the sidecar is on the same host or pod).
	conn, err := grpc.NewClient(d.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: 2 * time.Second, Backoff: backoff.Config{
			BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second}}))
	if err != nil {
		return nil, fmt.Errorf("dapr sidecar %s: %w", d.Addr, err)
	}
	d.c = dapr.NewClientWithConnection(conn)
	return d.c, nil
}

// Close releases the sidecar connection.
func (d *DaprJobs) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c != nil {
		d.c.Close()
	}
}

// Schedule (re)places r's job (jobOf) at the reminder time, rounded up to
// the second so that it never fires early. Scheduling a name again replaces it.
func (d *DaprJobs) Schedule(ctx context.Context, r store.Reminder) error {
	return d.schedule(ctx, jobOf(r), r, r.RemindAt)
}

// RetryAt schedules a one-off retry job for r at at. It has a name of its own
// (the job being called back is removed once its callback returns); the
// callback re-checks that the reminder is current, so a retry of a reminder
// moved or cancelled meanwhile fires nothing.
func (d *DaprJobs) RetryAt(ctx context.Context, r store.Reminder, at time.Time) error {
	return d.schedule(ctx, fmt.Sprintf("%s-retry-%d", jobOf(r), at.Unix()), r, at)
}

func (d *DaprJobs) schedule(ctx context.Context, name string, r store.Reminder, at time.Time) error {
	c, err := d.client(ctx)
	if err != nil {
		return err
	}
	parent, state := telemetry.TraceParent(ctx)
	payload, err := json.Marshal(jobData{TaskID: r.TaskID, UserID: r.UserID, RemindAt: r.RemindAt.UTC().Format(time.RFC3339Nano),
		N: r.N, NotificationID: r.NotificationID, TraceParent: parent, TraceState: state})
	if err != nil {
		return err
	}
	// Dapr hands the Any's bytes back as the callback body: JSON it is.
	data := &anypb.Any{TypeUrl: "type.taskflow.dev/reminder+json", Value: payload}
	at = at.UTC()
	if t := at.Truncate(time.Second); !t.Equal(at) {
		at = t.Add(time.Second)
	}
	return c.ScheduleJobAlpha1(ctx, &dapr.Job{Name: name, DueTime: at.Format(time.RFC3339), Data: data})
}

// Delete removes the job named name; a job that is not there is no error.
func (d *DaprJobs) Delete(ctx context.Context, name string) error {
	c, err := d.client(ctx)
	if err != nil {
		return err
	}
	if err := c.DeleteJobAlpha1(ctx, name); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// Exists reports whether the job named name is scheduled.
func (d *DaprJobs) Exists(ctx context.Context, name string) (bool, error) {
	c, err := d.client(ctx)
	if err != nil {
		return false, err
	}
	// The proto client, not the SDK's GetJobAlpha1, which prints every job it reads.
	if _, err := c.GrpcClient().GetJobAlpha1(ctx, &runtimev1.GetJobRequest{Name: name}); err != nil {
		if notFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// notFound recognises a missing job; Dapr 1.15 reports it as an Internal
// error that wraps the scheduler's NotFound.
func notFound(err error) bool {
	if s, ok := status.FromError(err); ok && s.Code() == codes.NotFound {
		return true
	}
	return strings.Contains(err.Error(), "code = NotFound") || strings.Contains(err.Error(), "job not found")
}

type jobData struct {
	TaskID   string `json:"task_id"`
	UserID   string `json:"user_id"`
	RemindAt string `json:"remind_at"`
	// N is the reminder's number among its task's; NotificationID is set
	// for a snooze (store.Reminder).
	N              int    `json:"n,omitempty"`
	NotificationID string `json:"notification_id,omitempty"`
	// The trace context of the change that scheduled the job, so that the
	// firing continues its trace.
	TraceParent string `json:"traceparent,omitempty"`
	TraceState  string `json:"tracestate,omitempty"`
}

// jobPayload decodes the data Dapr hands back on a job callback: the JSON
// TaskFlow scheduled, or the same fields as a protobuf Struct.
func jobPayload(body []byte) (store.Reminder, jobData, error) {
	var raw jobData
	if err := json.Unmarshal(body, &raw); err != nil {
		var st structpb.Struct
		if proto.Unmarshal(body, &st) != nil {
			return store.Reminder{}, raw, fmt.Errorf("job data is neither JSON nor a Struct: %w", err)
		}
		f := st.GetFields()
		raw = jobData{TaskID: f["task_id"].GetStringValue(), UserID: f["user_id"].GetStringValue(),
			RemindAt: f["remind_at"].GetStringValue()}
	}
	at, err := time.Parse(time.RFC3339Nano, raw.RemindAt)
	if err != nil || raw.TaskID == "" || raw.UserID == "" {
		return store.Reminder{}, raw, fmt.Errorf("job data %q is not a reminder", body)
	}
	return store.Reminder{TaskID: raw.TaskID, UserID: raw.UserID, RemindAt: at.UTC(), N: raw.N,
		NotificationID: raw.NotificationID}, raw, nil
}
