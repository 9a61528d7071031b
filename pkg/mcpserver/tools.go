package mcpserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// MaxBatch bounds add_tasks.
const MaxBatch = 100

// toolTimeout bounds one tool call, as the REST request timeout does.
const toolTimeout = 15 * time.Second

// tool is one MCP tool: its declaration and what it does for user.
type tool struct {
	tool *mcp.Tool
	run  func(ctx context.Context, user string, a *args) (any, error)
}

func boolp(b bool) *bool { return &b }

// declare builds a tool's declaration: hints say whether it only reads,
// whether it may destroy something, whether repeating it changes nothing more.
func declare(name, title, desc, in, out string, readOnly, destructive, idempotent bool) *mcp.Tool {
	return &mcp.Tool{Name: name, Title: title, Description: desc,
		InputSchema: json.RawMessage(in), OutputSchema: json.RawMessage(out),
		Annotations: &mcp.ToolAnnotations{Title: title, ReadOnlyHint: readOnly, DestructiveHint: boolp(destructive),
			IdempotentHint: idempotent, OpenWorldHint: boolp(false)}}
}

// handle runs a tool: its result as structured content and as JSON text;
// an error as a tool error whose text is the API's error body (fn.Status),
// never a protocol error and never with structured content.
func (s *Server) handle(t tool) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Extra == nil || req.Extra.TokenInfo == nil || req.Extra.TokenInfo.UserID == "" {
			return s.toolError(ctx, errs.ErrUnauthenticated), nil
		}
		ctx, cancel := context.WithTimeout(ctx, toolTimeout)
		defer cancel()
		a, err := parseArgs(req.Params.Arguments)
		if err != nil {
			return s.toolError(ctx, err), nil
		}
		out, err := t.run(ctx, req.Extra.TokenInfo.UserID, a)
		if err != nil {
			return s.toolError(ctx, err), nil
		}
		body, err := fn.EncodeJSON(out)
		if err != nil {
			return s.toolError(ctx, err), nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(body)}},
			StructuredContent: json.RawMessage(body)}, nil
	}
}

func (s *Server) toolError(ctx context.Context, err error) *mcp.CallToolResult {
	status, detail := fn.Status(err)
	if status >= 500 {
		s.d.Log.ErrorContext(ctx, "tool failed", "status", status, "error", err)
	}
	body, _ := json.Marshal(fn.ErrorBody{Error: detail}) // the envelope always encodes
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(body)}}}
}

// now is the request's clock, in UTC as the handlers take it.
func (s *Server) now() time.Time { return s.d.Now().UTC() }

func (s *Server) tools() []tool {
	return []tool{
		{declare("add_task", "Add a task", "Create one task. Give an idempotency_key (any text up to 255 characters, new per task) so that "+
			"a retry of this call returns the first result instead of creating the task again.",
			addTaskIn, taskOut, false, false, true), s.addTask},
		{declare("add_tasks", "Add tasks", "Create up to 100 tasks at once, all or nothing: when any item is invalid, nothing is created "+
			"and the error lists every item's problems (fields named tasks[i].field). Each item may carry an idempotency_key.",
			addTasksIn, itemsOut(taskSchema, false), false, false, true), s.addTasks},
		{declare("list_tasks", "List tasks", "List the user's tasks with filters, sorting and keyset pagination (pass next_cursor "+
			"back as cursor, with the same sort and order).", listIn(false), itemsOut(taskSchema, true), true, false, true), s.list(false)},
		{declare("search_tasks", "Search tasks", "Keyword search: every word of q must match a word or word prefix of a task's title or "+
			"description. Ordered by relevance unless sort is given; the list filters apply.", listIn(true), itemsOut(taskSchema, true),
			true, false, true), s.list(true)},
		{declare("get_task", "Get a task", "One task by its id.", idIn(), taskOut, true, false, true), s.getTask},
		{declare("update_task", "Update a task", "Change only the fields given (null resets a field to its default). "+
			"status \"completed\" completes, \"active\" reopens. if_match_version makes the change conditional on the task's version.",
			updateIn, taskOut, false, false, true), s.updateTask},
		{declare("complete_task", "Complete a task", "Mark a task completed; completing it again changes nothing. For a recurring task, "+
			"next_due_date tells when the next occurrence (made by TaskFlow right after) is due.",
			idIn(), completeOut, false, false, true), s.completeTask},
		{declare("skip_occurrence", "Skip an occurrence", "Skip this occurrence of a recurring task: it is marked skipped, not "+
			"completed, and the next occurrence (made by TaskFlow right after, as for a completion now) is due at next_due_date. "+
			"Skipping it again changes nothing; a task that does not recur, or is completed, cannot be skipped.",
			idIn(), completeOut, false, false, true), s.skipOccurrence},
		{declare("end_series", "End a series", "Make this occurrence of a recurring task the series' last: it stays as it is and "+
			"stops recurring, so no next occurrence follows it (also when it is completed later). Only an active occurrence can end its series.",
			idIn(), taskOut, false, false, false), s.endSeries},
		{declare("reopen_task", "Reopen a task", "Mark a completed or skipped task active again.", idIn(), taskOut, false, false, true), s.reopenTask},
		{declare("delete_task", "Delete a task", "Delete a task for good; its reminders are cancelled.", idIn(), deletedOut,
			false, true, false), s.deleteTask},
		{declare("list_tags", "List tags", "The user's tags with colour and number of tasks.", emptyIn, itemsOut(tagSchema, false),
			true, false, true), s.listTags},
		{declare("task_history", "Task history", "A task's audit trail, oldest first, with field-level changes.",
			idIn(), itemsOut(historySchema, false), true, false, true), s.history},
		{declare("list_notifications", "List notifications", "Delivered reminders, newest first.", notificationsIn,
			itemsOut(notificationSchema, true), true, false, true), s.notifications},
		{declare("get_settings", "Get settings", "The user's settings: the time zone all-day due dates are read in (unless their "+
			"recurrence pattern names one) and the time of day their relative reminders count back from.",
			emptyIn, settingsOut, true, false, true), s.getSettings},
		{declare("update_settings", "Update settings", "Change the settings given: timezone (an IANA zone) and/or "+
			"all_day_reminder_time (HH:MM). Tasks already written keep the zone they were written in.",
			settingsIn, settingsOut, false, false, true), s.updateSettings},
		{declare("snooze_notification", "Snooze a notification", "The notification's reminder fires once more after minutes "+
			"(1..10080) or at until (RFC 3339, at most 30 days ahead): give one. Snoozing again moves it.", snoozeIn,
			notificationSchema, false, false, true), s.snooze},
		{declare("preview_recurrence", "Preview a recurrence", "The first occurrences (count 1..50, default 5) of the series a task "+
			"with this due_date and recurrence_pattern would start, each as a UTC instant and as local time in the pattern's zone. "+
			"Nothing is stored.", previewIn, previewOut, true, false, true), s.preview},
	}
}

// createWrite reads one create body with its idempotency_key, as POST
// /api/tasks reads a body and its Idempotency-Key header.
func (s *Server) createWrite(ctx context.Context, user string, a *args) (ops.Write, *store.Idempotency, error) {
	key, hasKey := a.str("idempotency_key")
	body := a.rest()
	var idem *store.Idempotency
	if hasKey {
		if key == "" || len(key) > handlers.MaxIdempotencyKey {
			a.fe.Add("idempotency_key", "must be 1 to 255 characters")
		}
		sum := sha256.Sum256(body)
		idem = &store.Idempotency{Key: key, Hash: sum[:]}
	}
	w, err := ops.CreateWith(user, body, s.now(), func() (task.Settings, error) { return s.d.Store.Settings(ctx, user) })
	return w, idem, errs.Merge(a.fe.Err(), err)
}

// replayed is the task a retried create answered with the first time.
func replayed(replay []byte) (task.Task, error) {
	var t task.Task
	if err := json.Unmarshal(replay, &t); err != nil {
		return t, fmt.Errorf("replay: %w", err)
	}
	return t, nil
}

func (s *Server) addTask(ctx context.Context, user string, a *args) (any, error) {
	loc := a.zone()
	w, idem, err := s.createWrite(ctx, user, a)
	if err != nil {
		return nil, err
	}
	t, replay, err := s.d.Store.Create(ctx, w, idem)
	if err != nil {
		return nil, err
	}
	if replay != nil {
		if t, err = replayed(replay); err != nil {
			return nil, err
		}
		// The replay is the REST body, which has no version: read it.
		if cur, err := s.d.Store.Get(ctx, user, t.ID); err == nil {
			t = cur
		}
	}
	return toTask(t, loc), nil
}

func (s *Server) addTasks(ctx context.Context, user string, a *args) (any, error) {
	loc := a.zone()
	raw := a.take("tasks")
	_ = a.done() // unknown fields join a.fe
	var items []json.RawMessage
	if raw == nil || json.Unmarshal(raw, &items) != nil || len(items) == 0 || len(items) > MaxBatch {
		a.fe.Add("tasks", fmt.Sprintf("must be a list of 1 to %d tasks", MaxBatch))
	}
	if err := a.fe.Err(); err != nil {
		return nil, err
	}
	fe := errs.FieldErrors{}
	ws := make([]ops.Write, len(items))
	idems := make([]*store.Idempotency, len(items))
	keys := map[string]int{}
	for i, item := range items {
		prefix := "tasks[" + strconv.Itoa(i) + "]"
		ia, err := parseArgs(item)
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(item), []byte("{")) {
			fe.Add(prefix, "must be a task object")
			continue
		}
		w, idem, err := s.createWrite(ctx, user, ia)
		if idem != nil {
			if j, dup := keys[idem.Key]; dup {
				fe.Add(prefix+".idempotency_key", "is also the key of tasks["+strconv.Itoa(j)+"]")
			}
			keys[idem.Key] = i
		}
		if err != nil {
			inv, ok := err.(*errs.Invalid)
			if !ok {
				return nil, err
			}
			if len(inv.Fields) == 0 {
				fe.Add(prefix, inv.Message)
			}
			for k, v := range inv.Fields {
				fe.Add(prefix+"."+k, v)
			}
			continue
		}
		ws[i], idems[i] = w, idem
	}
	if len(fe) > 0 {
		return nil, &errs.Invalid{Message: "invalid input: nothing was created", Fields: fe}
	}
	created, err := s.d.Store.CreateAll(ctx, ws, idems)
	if err != nil {
		return nil, err
	}
	out := make([]Task, len(created))
	for i, c := range created {
		t := c.Task
		if c.Replay != nil {
			if t, err = replayed(c.Replay); err != nil {
				return nil, err
			}
			if cur, err := s.d.Store.Get(ctx, user, t.ID); err == nil {
				t = cur
			}
		}
		out[i] = toTask(t, loc)
	}
	return map[string]any{"items": out}, nil
}

// listNames are the list parameters of API.md §4 (and q for search).
var listNames = map[string]bool{"status": true, "priority": true, "tags": true, "tag_mode": true, "due_before": true,
	"due_after": true, "overdue": true, "sort": true, "order": true, "limit": true, "cursor": true}

// Page is a page of tasks, as GET /api/tasks answers.
type Page struct {
	Items      []Task  `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func (s *Server) list(search bool) func(ctx context.Context, user string, a *args) (any, error) {
	return func(ctx context.Context, user string, a *args) (any, error) {
		loc := a.zone()
		for k := range a.m {
			if !listNames[k] && !(search && k == "q") {
				a.fe.Add(k, "unknown field")
				delete(a.m, k)
			}
		}
		v := a.query()
		if search {
			if _, ok := v["q"]; !ok {
				v.Set("q", "")
			}
		}
		q, err := task.ParseListQuery(v, search, s.now())
		if err := errs.Merge(a.fe.Err(), err); err != nil {
			return nil, err
		}
		items, next, err := s.d.Store.List(ctx, user, q)
		if err != nil {
			return nil, err
		}
		p := Page{Items: toTasks(items, loc)}
		if next != nil {
			c := next.Encode()
			p.NextCursor = &c
		}
		return p, nil
	}
}

// target reads task_id and timezone, and nothing else.
func target(a *args) (string, *time.Location, error) {
	loc := a.zone()
	id, err := a.taskID()
	if err := errs.Merge(a.done(), err); err != nil {
		return "", nil, err
	}
	return id, loc, nil
}

func (s *Server) getTask(ctx context.Context, user string, a *args) (any, error) {
	id, loc, err := target(a)
	if err != nil {
		return nil, err
	}
	t, err := s.d.Store.Get(ctx, user, id)
	if err != nil {
		return nil, err
	}
	return toTask(t, loc), nil
}

func (s *Server) updateTask(ctx context.Context, user string, a *args) (any, error) {
	loc := a.zone()
	id, idErr := a.taskID()
	version, _ := a.integer("if_match_version")
	if version < 0 {
		a.fe.Add("if_match_version", "must be a version of the task (1 or more)")
	}
	in, ok, perr := task.ParseInput(a.rest())
	if err := errs.Merge(a.fe.Err(), idErr); err != nil {
		return nil, errs.Merge(err, perr)
	}
	if !ok {
		return nil, perr
	}
	if err := ops.Place(&in, func() (task.Settings, error) { return s.d.Store.Settings(ctx, user) }); err != nil {
		return nil, err
	}
	return s.change(ctx, user, id, version, loc, func(cur task.Task, now time.Time) (ops.Write, bool, error) {
		w, changed, err := ops.Patch(cur, in, now)
		return w, changed, errs.Merge(perr, err)
	})
}

// change applies a step to the user's task, as PATCH does.
func (s *Server) change(ctx context.Context, user, id string, version int64, loc *time.Location,
	step func(task.Task, time.Time) (ops.Write, bool, error)) (Task, error) {
	now := s.now()
	t, _, err := s.d.Store.Update(ctx, user, id, version, func(cur task.Task) (ops.Write, bool, error) {
		return step(cur, now)
	})
	if err != nil {
		return Task{}, err
	}
	return toTask(t, loc), nil
}

// Completed is complete_task's result: the task and, for a series that
// goes on, when its next occurrence is due.
type Completed struct {
	Task             Task       `json:"task"`
	NextDueDate      *time.Time `json:"next_due_date"`
	NextDueDateLocal *Local     `json:"next_due_date_local"`
}

func (s *Server) completeTask(ctx context.Context, user string, a *args) (any, error) {
	id, loc, err := target(a)
	if err != nil {
		return nil, err
	}
	t, err := s.change(ctx, user, id, 0, loc, func(cur task.Task, now time.Time) (ops.Write, bool, error) {
		w, changed := ops.Complete(cur, now)
		return w, changed, nil
	})
	if err != nil {
		return nil, err
	}
	out := Completed{Task: t}
	if t.IsRecurring && t.CompletedAt != nil {
		// The successor the recurrence function makes on task.completed.
		if next, ok, err := ops.Successor(t.Task, *t.CompletedAt, s.now()); err == nil && ok && next.Task.DueDate != nil {
			out.NextDueDate = next.Task.DueDate
			out.NextDueDateLocal = localPtr(next.Task.DueDate, zoneFor(t.Task, loc))
		}
	}
	return out, nil
}

func (s *Server) skipOccurrence(ctx context.Context, user string, a *args) (any, error) {
	id, loc, err := target(a)
	if err != nil {
		return nil, err
	}
	t, err := s.change(ctx, user, id, 0, loc, ops.Skip)
	if err != nil {
		return nil, err
	}
	out := Completed{Task: t}
	if t.IsRecurring && t.Status == task.Skipped {
		// The successor the recurrence function makes on task.skipped: as
		// for a completion when the task was skipped.
		if next, ok, err := ops.Successor(t.Task, t.UpdatedAt, s.now()); err == nil && ok && next.Task.DueDate != nil {
			out.NextDueDate = next.Task.DueDate
			out.NextDueDateLocal = localPtr(next.Task.DueDate, zoneFor(t.Task, loc))
		}
	}
	return out, nil
}

func (s *Server) endSeries(ctx context.Context, user string, a *args) (any, error) {
	id, loc, err := target(a)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, user, id, 0, loc, func(cur task.Task, now time.Time) (ops.Write, bool, error) {
		w, err := ops.EndSeries(cur, now)
		return w, err == nil, err
	})
}

func (s *Server) reopenTask(ctx context.Context, user string, a *args) (any, error) {
	id, loc, err := target(a)
	if err != nil {
		return nil, err
	}
	in, _, _ := task.ParseInput([]byte(`{"status":"active"}`))
	return s.change(ctx, user, id, 0, loc, func(cur task.Task, now time.Time) (ops.Write, bool, error) {
		return ops.Patch(cur, in, now)
	})
}

func (s *Server) deleteTask(ctx context.Context, user string, a *args) (any, error) {
	id, _, err := target(a)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if _, err := s.d.Store.Delete(ctx, user, id, 0, func(cur task.Task) ops.Write { return ops.Delete(cur, now) }); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true, "task_id": id}, nil
}

func (s *Server) listTags(ctx context.Context, user string, a *args) (any, error) {
	if err := a.done(); err != nil {
		return nil, err
	}
	tags, err := s.d.Store.Tags(ctx, user)
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []store.Tag{}
	}
	return map[string]any{"items": tags}, nil
}

func (s *Server) history(ctx context.Context, user string, a *args) (any, error) {
	id, loc, err := target(a)
	if err != nil {
		return nil, err
	}
	// A task that is not the user's has no history they may see, as the
	// REST history answers for another user's task: not found.
	entries, err := s.d.Store.History(ctx, user, id, handlers.MaxHistory)
	if err != nil {
		return nil, err
	}
	items := make([]HistoryEntry, len(entries))
	for i, e := range entries {
		items[i] = HistoryEntry{AuditEntry: e, TimeLocal: localOf(e.Time, orUTC(loc))}
	}
	return map[string]any{"items": items}, nil
}

func (s *Server) notifications(ctx context.Context, user string, a *args) (any, error) {
	loc := orUTC(a.zone())
	unread, _ := a.boolean("unread_only")
	v := url.Values{}
	if n, ok := a.integer("limit"); ok {
		v.Set("limit", strconv.FormatInt(n, 10))
	}
	if c, ok := a.str("cursor"); ok {
		v.Set("cursor", c)
	}
	limit, after, err := task.ParsePage(v, task.SortDelivered)
	if err := errs.Merge(a.done(), err); err != nil {
		return nil, err
	}
	ns, next, err := s.d.Store.Notifications(ctx, user, limit, after)
	if err != nil {
		return nil, err
	}
	items := []Notification{}
	for _, n := range ns {
		if unread && n.Read {
			continue // a page may hold fewer than limit: next_cursor goes on
		}
		items = append(items, Notification{Notification: n, RemindAtLocal: localOf(n.RemindAt, loc),
			DeliveredAtLocal: localOf(n.DeliveredAt, loc)})
	}
	var cursor *string
	if next != nil {
		c := next.Encode()
		cursor = &c
	}
	return map[string]any{"items": items, "next_cursor": cursor}, nil
}

func (s *Server) snooze(ctx context.Context, user string, a *args) (any, error) {
	loc := orUTC(a.zone())
	id, ok := a.str("notification_id")
	if !ok {
		a.fe.Add("notification_id", "is required")
	}
	if err := a.fe.Err(); err != nil {
		return nil, err
	}
	if uuid.Validate(id) != nil {
		return nil, errs.ErrNotFound
	}
	until, err := task.ParseSnooze(a.rest(), s.now())
	if err != nil {
		return nil, err
	}
	n, err := s.d.Store.Snooze(ctx, user, id, until)
	if err != nil {
		return nil, err
	}
	return Notification{Notification: n, RemindAtLocal: localOf(n.RemindAt, loc), DeliveredAtLocal: localOf(n.DeliveredAt, loc)}, nil
}

func (s *Server) preview(ctx context.Context, user string, a *args) (any, error) {
	if err := a.fe.Err(); err != nil {
		return nil, err
	}
	var load func() (task.Settings, error)
	if s.d.Store != nil {
		load = func() (task.Settings, error) { return s.d.Store.Settings(ctx, user) }
	}
	p, err := task.ParsePreviewWith(a.rest(), load)
	if err != nil {
		return nil, err
	}
	out, err := handlers.Occurrences(p)
	if err != nil {
		return nil, err
	}
	return map[string][]handlers.Occurrence{"occurrences": out}, nil
}

func (s *Server) getSettings(ctx context.Context, user string, a *args) (any, error) {
	if err := a.done(); err != nil {
		return nil, err
	}
	return s.d.Store.Settings(ctx, user)
}

func (s *Server) updateSettings(ctx context.Context, user string, a *args) (any, error) {
	if err := a.fe.Err(); err != nil {
		return nil, err
	}
	body := a.rest()
	if _, err := task.PatchSettings(task.DefaultSettings, body); err != nil {
		return nil, err // nothing reaches the database
	}
	return s.d.Store.UpdateSettings(ctx, user, func(cur task.Settings) (task.Settings, error) {
		return task.PatchSettings(cur, body)
	})
}
