package ops

import (
	"errors"
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/recurrence"
	"github.com/taskflow/taskflow/pkg/task"
)

// Create is the step of every create, POST /api/tasks and the
// dev.taskflow.task.create command alike: body is a create body, parsed and
// validated (every field error at once) into a new task of user at now.
func Create(user string, body []byte, now time.Time) (Write, error) {
	return CreateWith(user, body, now, nil)
}

// CreateWith is Create for a user whose settings place an all-day due date
// in their zone: settings (nil: task.DefaultSettings) is called only when
// the body's due_date is a date, and its error is returned as it is.
func CreateWith(user string, body []byte, now time.Time, settings func() (task.Settings, error)) (Write, error) {
	in, ok, perr := task.ParseInput(body)
	if !ok {
		return Write{}, perr
	}
	if err := Place(&in, settings); err != nil {
		return Write{}, err
	}
	t, err := task.New(user, in, now)
	if err := errs.Merge(perr, err); err != nil {
		return Write{}, err
	}
	return Insert(t), nil
}

// Place gives in the user's settings, which place an all-day due date in
// their zone, when its due_date is a date: load (nil: task.DefaultSettings)
// is called only then, and its error is returned as it is. Every write that
// takes a task body calls it before the task is built.
func Place(in *task.Input, load func() (task.Settings, error)) error {
	if in.DueDay == "" || load == nil {
		return nil
	}
	s, err := load()
	if err != nil {
		return err
	}
	in.Settings = &s
	return nil
}

// Replace is the step of PUT: every editable field of cur takes in's value or
// its default. It reports whether anything changed; when nothing did, there
// is nothing to write.
func Replace(cur task.Task, in task.Input, now time.Time) (Write, bool, error) {
	next, ch, err := cur.Replace(in, now)
	if err != nil || !ch {
		return Write{}, false, err
	}
	return Change(cur, next), true, nil
}

// Patch is the step of PATCH: only the fields in sets change. It reports
// whether anything changed, as Replace does.
func Patch(cur task.Task, in task.Input, now time.Time) (Write, bool, error) {
	next, ch, err := cur.Patch(in, now)
	if err != nil || !ch {
		return Write{}, false, err
	}
	return Change(cur, next), true, nil
}

// Complete is the step of completing cur at now. Completing a completed task
// changes nothing and reports false.
func Complete(cur task.Task, now time.Time) (Write, bool) {
	next, ch := cur.Complete(now)
	if !ch {
		return Write{}, false
	}
	return Change(cur, next), true
}

// Skip is the step of skipping cur, an occurrence of a series, at now
// (task.Task.Skip): a task.skipped event, from which the recurrence function
// makes the successor. Skipping a skipped task changes nothing and reports
// false; a task that does not recur or is completed is errs.ErrConflict.
func Skip(cur task.Task, now time.Time) (Write, bool, error) {
	next, ch, err := cur.Skip(now)
	if err != nil || !ch {
		return Write{}, false, err
	}
	return Change(cur, next), true, nil
}

// EndSeries is the step of ending cur's series at cur (task.Task.EndSeries):
// a task.updated event with the task as it was. A task that does not recur,
// or is not active, is errs.ErrConflict.
func EndSeries(cur task.Task, now time.Time) (Write, error) {
	next, err := cur.EndSeries(now)
	if err != nil {
		return Write{}, err
	}
	return Change(cur, next), nil
}

// Successor is the step of the recurrence function: the next occurrence of
// prev, completed at done, created at now (API.md §5), in prev's series. It
// reports false when the series has no further occurrence. An error is
// recurrence.ErrTooFar as such, a pattern that cannot be evaluated as
// errs.ErrInvalid, or the field errors of a successor TaskFlow's own writes
// could not have made (a reminder after its due date, a title too long): the
// task came from an event, and such a task is refused, not stored.
func Successor(prev task.Task, done, now time.Time) (Write, bool, error) {
	next, ok, err := recurrence.Successor(prev, done, now)
	switch {
	case errors.Is(err, recurrence.ErrTooFar):
		return Write{}, false, err
	case err != nil:
		return Write{}, false, errs.Invalidf("the task's recurrence pattern cannot be evaluated: " + err.Error())
	case !ok:
		return Write{}, false, nil
	}
	if err := next.Validate(); err != nil {
		return Write{}, false, err
	}
	return insert(next, false), true, nil
}
