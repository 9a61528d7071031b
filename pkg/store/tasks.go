package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

const taskColumns = `id, user_id, title, description, status, priority, tags, due_date, reminder_time,
	is_recurring, recurrence, series_id, completed_at, created_at, updated_at, version, series_start, occurrence,
	due_day, due_zone, due_end, due_base_minutes, reminders`

// scanTask reads one row selected with taskColumns.
func scanTask(row pgx.Row) (task.Task, error) {
	var (
		t        task.Task
		id       uuid.UUID
		series   *uuid.UUID
		priority int16
		rec      []byte
		occ      *int32
		day      *time.Time
		zone     *string
		dayEnd   *time.Time
		base     *int32
		rems     []byte
	)
	err := row.Scan(&id, &t.UserID, &t.Title, &t.Description, &t.Status, &priority, &t.Tags, &t.DueDate,
		&t.ReminderTime, &t.IsRecurring, &rec, &series, &t.CompletedAt, &t.CreatedAt, &t.UpdatedAt, &t.Version,
		&t.SeriesStart, &occ, &day, &zone, &dayEnd, &base, &rems)
	if err != nil {
		return task.Task{}, err
	}
	if occ != nil {
		t.Occurrence = int(*occ)
	}
	if day != nil && zone != nil && dayEnd != nil && base != nil {
		t.AllDay = &task.AllDay{Date: day.Format(task.DateLayout), Zone: *zone, End: dayEnd.UTC(), BaseMinutes: int(*base)}
	}
	t.Reminders = []task.Reminder{}
	if len(rems) > 0 {
		if err := json.Unmarshal(rems, &t.Reminders); err != nil {
			return task.Task{}, fmt.Errorf("decode reminders of %s: %w", t.ID, err)
		}
		for i := range t.Reminders {
			t.Reminders[i].At = task.Clamp(t.Reminders[i].At.UTC())
		}
	}
	t.ID = id.String()
	t.Priority = task.PriorityFromRank(int(priority))
	if series != nil {
		s := series.String()
		t.SeriesID = &s
	}
	if len(rec) > 0 {
		t.Recurrence = new(task.Recurrence)
		if err := json.Unmarshal(rec, t.Recurrence); err != nil {
			return task.Task{}, fmt.Errorf("decode recurrence of %s: %w", t.ID, err)
		}
		if t.Recurrence.RepeatFrom == "" { // stored before repeat_from was kept
			t.Recurrence.RepeatFrom = task.RepeatFromDue
		}
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	utc(&t.DueDate, &t.ReminderTime, &t.CompletedAt, &t.SeriesStart)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if t.Recurrence != nil {
		utc(&t.Recurrence.EndDate)
	}
	clampTimes(&t)
	return t, nil
}

// clampTimes moves instants stored before their range was enforced (a due
// date in the year 10000) to the nearest bound, so that the task still
// encodes and one such row cannot break a user's whole list.
func clampTimes(t *task.Task) {
	for _, p := range []*time.Time{t.DueDate, t.ReminderTime, t.CompletedAt, t.SeriesStart, &t.CreatedAt, &t.UpdatedAt} {
		if p != nil {
			*p = task.Clamp(*p)
		}
	}
	if t.Recurrence != nil && t.Recurrence.EndDate != nil {
		*t.Recurrence.EndDate = task.Clamp(*t.Recurrence.EndDate)
	}
}

func utc(ts ...**time.Time) {
	for _, p := range ts {
		if *p != nil {
			u := (*p).UTC()
			*p = &u
		}
	}
}

func tagKeys(tags []string) []string {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = task.TagKey(t)
	}
	return keys
}

func recurrenceJSON(r *task.Recurrence) []byte {
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r)
	return b
}

// remindersJSON is the reminders column: the reminders as the API shows them.
func remindersJSON(rs []task.Reminder) []byte {
	if rs == nil {
		rs = []task.Reminder{}
	}
	b, _ := json.Marshal(rs)
	return b
}

// Idempotency identifies a create that may be retried.
type Idempotency struct {
	Key  string
	Hash []byte // of the request body: the same key with another body is a conflict
	// Shared makes the key one for every user (a command event's source and
	// id) instead of one per user (an Idempotency-Key header).
	Shared bool
}

// scope is the user_id the key is stored under: "" (never a user id) for a
// shared key.
func (i *Idempotency) scope(user string) string {
	if i.Shared {
		return ""
	}
	return user
}

// canonicalTags returns tags as the user first spelled them: "Work" stays
// "Work" after someone writes "work". Tags new to the user keep the spelling
// given; upsertTags records them with the write.
func canonicalTags(ctx context.Context, q querier, user string, tags []string) ([]string, error) {
	if len(tags) == 0 {
		return []string{}, nil
	}
	keys := tagKeys(tags)
	rows, err := q.Query(ctx, `SELECT key, name FROM tags WHERE user_id = $1 AND key = ANY($2)`, user, keys)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var kv [2]string
		return kv, r.Scan(&kv[0], &kv[1])
	})
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]string, len(names))
	for _, kv := range names {
		byKey[kv[0]] = kv[1]
	}
	out := make([]string, len(tags))
	for i, k := range keys {
		out[i] = tags[i]
		if n, ok := byKey[k]; ok {
			out[i] = n
		}
	}
	return out, nil
}

// withTags is w with its tags spelled as tags says. Tags spelled as given
// already (the usual case) leave w as it is, its events derived and encoded
// once: re-deriving them would encode the task again for nothing.
func withTags(w ops.Write, tags []string) ops.Write {
	if slices.Equal(tags, w.Task.Tags) && (tags == nil) == (w.Task.Tags == nil) {
		return w
	}
	return w.WithTags(tags)
}

// querier is what pool and transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// upsertTags records a task's tags (parameters @user_id, @tags and their
// default @colors) as the user's tags; a tag the user has keeps its spelling
// and colour.
const upsertTags = `INSERT INTO tags (user_id, key, name, color)
		SELECT @user_id, lower(u.name), u.name, u.color FROM unnest(@tags::text[], @colors::text[]) AS u(name, color)
		ON CONFLICT DO NOTHING`

// countTags adds a write's tag deltas (parameters @count_users, @count_keys
// and @count_ns, one element per (user, key)) to the counters on shard
// @shard. Rows are locked in key order, and every transaction runs it at
// most once, so two writers never wait on each other's counters in a cycle.
const countTags = `INSERT INTO tag_counts (user_id, key, shard, n)
		SELECT d.user_id, d.key, @shard, d.n
		FROM unnest(@count_users::text[], @count_keys::text[], @count_ns::bigint[]) AS d(user_id, key, n)
		ORDER BY d.user_id, d.key
		ON CONFLICT (user_id, key, shard) DO UPDATE SET n = tag_counts.n + EXCLUDED.n`

// tagCount is one (user, key) delta of countTags.
type tagCount struct {
	user, key string
	n         int64
}

// countArgs sets countTags' parameters in args: cs on shard.
func countArgs(args pgx.NamedArgs, shard int, cs []tagCount) pgx.NamedArgs {
	users, keys, ns := make([]string, len(cs)), make([]string, len(cs)), make([]int64, len(cs))
	for i, c := range cs {
		users[i], keys[i], ns[i] = c.user, c.key, c.n
	}
	args["shard"], args["count_users"], args["count_keys"], args["count_ns"] = shard, users, keys, ns
	return args
}

// writeCounts is w's TagDeltas as countTags takes them.
func writeCounts(w ops.Write) []tagCount {
	cs := make([]tagCount, len(w.TagDeltas))
	for i, d := range w.TagDeltas {
		cs[i] = tagCount{w.Task.UserID, d.Key, d.N}
	}
	return cs
}

// rowArgs names the columns of w's task for insertTask, updateTask and
// insertSuccessor, with the colours of its tags and its tag deltas.
func rowArgs(w ops.Write) pgx.NamedArgs {
	t := w.Task
	args := countArgs(pgx.NamedArgs{
		"id": t.ID, "user_id": t.UserID, "title": t.Title, "description": t.Description, "status": t.Status,
		"priority": t.Priority.Rank(), "tags": t.Tags, "tag_keys": tagKeys(t.Tags), "colors": w.Colors,
		"due_date": t.DueDate, "reminder_time": t.ReminderTime, "is_recurring": t.IsRecurring,
		"recurrence": recurrenceJSON(t.Recurrence), "series_id": t.SeriesID, "completed_at": t.CompletedAt,
		"created_at": t.CreatedAt, "updated_at": t.UpdatedAt, "series_start": t.SeriesStart,
		"occurrence": occurrence(t),
		"due_day":    nil, "due_zone": nil, "due_end": nil, "due_base_minutes": nil,
		"reminders": remindersJSON(t.Reminders), "reminder_times": t.ReminderTimes(),
	}, w.Shard(), writeCounts(w))
	if a := t.AllDay; a != nil {
		args["due_day"], args["due_zone"], args["due_end"], args["due_base_minutes"] = a.Date, a.Zone, a.End, a.BaseMinutes
	}
	return args
}

// occurrence is t's occurrence column: NULL when not known.
func occurrence(t task.Task) *int32 {
	if t.Occurrence < 1 {
		return nil
	}
	n := int32(t.Occurrence)
	return &n
}

// insertTask writes a task, its tags, their counts and its @events in one
// statement: one round trip, one implicit transaction.
var insertTask = `WITH tags_added AS (` + upsertTags + `),
	counted AS (` + countTags + `),
	events_added AS (` + outboxCTE("@events") + `)
	INSERT INTO tasks (id, user_id, title, description, status, priority, tags, tag_keys, due_date,
		reminder_time, is_recurring, recurrence, series_id, completed_at, created_at, updated_at, series_start,
		occurrence, due_day, due_zone, due_end, due_base_minutes, reminders, reminder_times)
	VALUES (@id, @user_id, @title, @description, @status, @priority, @tags, @tag_keys, @due_date,
		@reminder_time, @is_recurring, @recurrence, @series_id, @completed_at, @created_at, @updated_at,
		@series_start, @occurrence, @due_day::date, @due_zone, @due_end, @due_base_minutes, @reminders,
		@reminder_times)
	RETURNING ` + taskColumns

// Create stores w, a new task (ops.Create or ops.Insert), with its events.
// With idem set, a retry returns the first response as replay; concurrent
// retries wait on the key's row and never create twice.
func (s *Store) Create(ctx context.Context, w ops.Write, idem *Idempotency) (out task.Task, replay []byte, err error) {
	if idem == nil {
		out, err = s.insert(ctx, s.pool, w, true)
		return out, nil, dbErr(err)
	}
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		out, replay, err = s.createIdempotent(ctx, tx, w, idem, true)
		return err
	})
	return out, replay, err
}

// Created is one task of CreateAll: the task stored, or, for a retried key,
// the response the first create stored (Replay).
type Created struct {
	Task   task.Task
	Replay []byte
}

// CreateAll stores every write of ws in one transaction, all or none, each
// with its idempotency key (idems[i], nil for none; keys as Create's, in the
// same table and scope). A key already used with another body is a conflict
// naming the item (tasks[i]) and stores nothing.
func (s *Store) CreateAll(ctx context.Context, ws []ops.Write, idems []*Idempotency) ([]Created, error) {
	out := make([]Created, len(ws))
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		// The tasks' tag counts are added once, summed, after the last
		// insert: one batch locks its counters in one statement, in key
		// order, as every other write does, so two batches cannot deadlock.
		sum := map[[2]string]int64{}
		for i, w := range ws {
			var err error
			if idems[i] == nil {
				out[i].Task, err = s.insert(ctx, tx, w, false)
			} else {
				out[i].Task, out[i].Replay, err = s.createIdempotent(ctx, tx, w, idems[i], false)
			}
			if errors.Is(err, errs.ErrConflict) {
				return errs.Wrap(errs.ErrConflict, fmt.Sprintf("tasks[%d].idempotency_key was already used with a different task", i), err)
			}
			if err != nil {
				return err
			}
			if out[i].Replay == nil {
				for _, c := range writeCounts(w) {
					sum[[2]string{c.user, c.key}] += c.n
				}
			}
		}
		if len(sum) == 0 {
			return nil
		}
		cs := make([]tagCount, 0, len(sum))
		for uk, n := range sum {
			cs = append(cs, tagCount{uk[0], uk[1], n})
		}
		_, err := tx.Exec(ctx, countTags, countArgs(pgx.NamedArgs{}, ws[0].Shard(), cs))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insert writes w's task with its tags and events, and with count its tag
// counts: one statement.
func (s *Store) insert(ctx context.Context, q querier, w ops.Write, count bool) (task.Task, error) {
	tags, err := canonicalTags(ctx, q, w.Task.UserID, w.Task.Tags)
	if err != nil {
		return task.Task{}, err
	}
	w = withTags(w, tags)
	// The event holds the whole task: if it encodes, so does the pattern.
	evs, err := s.outboxJSON(ctx, w.Events)
	if err != nil {
		return task.Task{}, err
	}
	args := rowArgs(w)
	args["events"] = evs
	if !count {
		countArgs(args, 0, nil)
	}
	return scanTask(q.QueryRow(ctx, insertTask, args))
}

// createIdempotent is Create with a key, within tx: the key's row first
// (waiting on a concurrent retry's), then the task and the response stored
// under the key, or the first response as replay; count as insert's.
func (s *Store) createIdempotent(ctx context.Context, tx pgx.Tx, w ops.Write, idem *Idempotency, count bool) (out task.Task, replay []byte, err error) {
	user := w.Task.UserID
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, response)
		VALUES ($1, $2, $3, '') ON CONFLICT DO NOTHING`, idem.scope(user), idem.Key, idem.Hash)
	if err != nil {
		return out, nil, err
	}
	if tag.RowsAffected() == 0 {
		var hash []byte
		err := tx.QueryRow(ctx, `SELECT request_hash, response FROM idempotency_keys
			WHERE user_id = $1 AND key = $2`, idem.scope(user), idem.Key).Scan(&hash, &replay)
		if err != nil {
			return out, nil, err
		}
		if string(hash) != string(idem.Hash) {
			return out, nil, errs.With(errs.ErrConflict, "Idempotency-Key was already used with a different request body")
		}
		return out, replay, nil
	}
	if out, err = s.insert(ctx, tx, w, count); err != nil {
		return out, nil, err
	}
	body, err := json.Marshal(out)
	if err != nil {
		return out, nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2`,
		idem.scope(user), idem.Key, body)
	return out, nil, err
}

// Get returns the user's task id, or errs.ErrNotFound (also for another user's task).
func (s *Store) Get(ctx context.Context, user, id string) (task.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE user_id = $1 AND id = $2`,
		user, id))
	return t, dbErr(err)
}

// updateTask writes the new state of a locked task, its tags, the change in
// their counts and its @events.
var updateTask = `WITH tags_added AS (` + upsertTags + `),
	counted AS (` + countTags + `),
	events_added AS (` + outboxCTE("@events") + `)
	UPDATE tasks SET title = @title, description = @description, status = @status, priority = @priority,
		tags = @tags, tag_keys = @tag_keys, due_date = @due_date, reminder_time = @reminder_time,
		is_recurring = @is_recurring, recurrence = @recurrence, series_id = @series_id,
		completed_at = @completed_at, updated_at = @updated_at, version = version + 1,
		series_start = @series_start, occurrence = @occurrence, due_day = @due_day::date, due_zone = @due_zone,
		due_end = @due_end, due_base_minutes = @due_base_minutes, reminders = @reminders,
		reminder_times = @reminder_times
	WHERE user_id = @user_id AND id = @id RETURNING ` + taskColumns

// Step is an operation's pure step (package ops) applied to the locked task:
// the write it makes and whether it changes anything.
type Step func(cur task.Task) (ops.Write, bool, error)

// Update locks the user's task, applies step and stores its write. With
// ifMatch > 0 the task's version must equal it (errs.ErrPrecondition otherwise).
// It returns the stored task and whether it changed.
func (s *Store) Update(ctx context.Context, user, id string, ifMatch int64, step Step) (task.Task, bool, error) {
	var (
		out     task.Task
		changed bool
	)
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks
			WHERE user_id = $1 AND id = $2 FOR UPDATE`, user, id))
		if err != nil {
			return err
		}
		if ifMatch > 0 && cur.Version != ifMatch {
			return errs.ErrPrecondition
		}
		w, ch, err := step(cur)
		if err != nil || !ch {
			out = cur
			return err
		}
		// Tags the task kept are spelled as stored already: no lookup.
		if !slices.Equal(w.Task.Tags, cur.Tags) {
			tags, err := canonicalTags(ctx, tx, user, w.Task.Tags)
			if err != nil {
				return err
			}
			w = withTags(w, tags)
		}
		// A task whose events carry no data is not stored.
		evs, err := s.outboxJSON(ctx, w.Events)
		if err != nil {
			return err
		}
		args := rowArgs(w)
		args["events"] = evs
		if out, err = scanTask(tx.QueryRow(ctx, updateTask, args)); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return out, changed, err
}

// deleteEvents stores a delete's @events and takes its task off its tags' counts.
var deleteEvents = `WITH counted AS (` + countTags + `) ` + outboxCTE("@events")

// Delete removes the user's task and stores the events of step's write (ops.Delete
// of the task as it was). It returns the task as it was.
func (s *Store) Delete(ctx context.Context, user, id string, ifMatch int64, step func(cur task.Task) ops.Write) (task.Task, error) {
	var out task.Task
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanTask(tx.QueryRow(ctx, `DELETE FROM tasks WHERE user_id = $1 AND id = $2
			RETURNING `+taskColumns, user, id))
		if err != nil {
			return err
		}
		if ifMatch > 0 && out.Version != ifMatch {
			return errs.ErrPrecondition
		}
		w := step(out)
		evs, err := s.outboxJSON(ctx, w.Events)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteEvents, countArgs(pgx.NamedArgs{"events": evs}, w.Shard(), writeCounts(w)))
		return err
	})
	return out, err
}

// Tag is one of a user's tags with the number of tasks carrying it.
type Tag struct {
	Name  string `json:"name"`
	Color string `json:"color"`
	Count int64  `json:"count"`
}

// Tags lists the user's tags by name, each with the number of the user's
// tasks carrying it: the sum of its counters in tag_counts, which every
// write keeps in its own transaction.
func (s *Store) Tags(ctx context.Context, user string) ([]Tag, error) {
	rows, err := s.pool.Query(ctx, `SELECT g.name, g.color, coalesce(sum(c.n), 0)::bigint
		FROM tags g LEFT JOIN tag_counts c USING (user_id, key)
		WHERE g.user_id = $1 GROUP BY g.user_id, g.key ORDER BY g.key LIMIT 10000`, user)
	if err != nil {
		return nil, dbErr(err)
	}
	tags, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tag, error) {
		var t Tag
		return t, r.Scan(&t.Name, &t.Color, &t.Count)
	})
	return tags, dbErr(err)
}
