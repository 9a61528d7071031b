package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/taskflow/taskflow/pkg/task"
)

// sortKeys maps each allowed sort to its SQL key for ascending and descending
// order. Only these strings ever reach SQL; request values select among them.
var sortKeys = map[string][2]string{
	task.SortCreated:  {"created_at", "created_at"},
	task.SortUpdated:  {"updated_at", "updated_at"},
	task.SortDue:      {"coalesce(due_date, 'infinity'::timestamptz)", "coalesce(due_date, '-infinity'::timestamptz)"},
	task.SortPriority: {"priority", "priority"},
	task.SortTitle:    {"title", "title"},
}

const rankExpr = "ts_rank(search, to_tsquery('simple', $2))"

// Query is SQL text with its positional arguments.
type Query struct {
	SQL  string
	Args []any
}

// BuildList turns a validated list query into SQL. Every value travels as an
// argument; the text is assembled only from constants.
func BuildList(user string, q task.ListQuery) Query {
	b := &builder{args: []any{user}}
	where := []string{"user_id = $1"}
	rank := ""
	if len(q.Terms) > 0 {
		b.arg(tsQuery(user, q.Terms)) // $2, as rankExpr expects
		where = append(where, "search @@ to_tsquery('simple', $2)")
		rank = rankExpr
	}
	if q.Status != "" {
		where = append(where, "status = "+b.arg(string(q.Status)))
	}
	if len(q.Priorities) > 0 {
		ranks := make([]int16, len(q.Priorities))
		for i, p := range q.Priorities {
			ranks[i] = int16(p.Rank())
		}
		where = append(where, "priority = ANY("+b.arg(ranks)+"::smallint[])")
	}
	if len(q.TagKeys) > 0 {
		op := "&&"
		if q.TagsAll {
			op = "@>"
		}
		where = append(where, "tag_keys "+op+" "+b.arg(q.TagKeys)+"::text[]")
	}
	// With sort=due_date a due-date bound is also stated on the sort key, so
	// that the key's index seeks to it instead of scanning from the first due date.
	dueBound := func(op, v string) {
		where = append(where, "due_date "+op+" "+v)
		if q.Sort == task.SortDue {
			where = append(where, sortKeys[task.SortDue][boolIndex(q.Desc)]+" "+op+" "+v)
		}
	}
	// The bounds are inclusive (API.md §4). PostgreSQL keeps microseconds and
	// a stored due date is truncated to them, so a bound is rounded the same
	// way toward inside: a task shown due at a bound is listed by it, and one
	// shown due before due_after is not.
	if q.DueBefore != nil {
		dueBound("<=", b.arg(q.DueBefore.Truncate(time.Microsecond)))
	}
	if q.DueAfter != nil {
		after := q.DueAfter.Truncate(time.Microsecond)
		if after.Before(*q.DueAfter) {
			after = after.Add(time.Microsecond)
		}
		dueBound(">=", b.arg(after))
	}
	if q.Overdue {
		// An all-day task is overdue once its day has ended in its zone
		// (due_end); it started before then, so the due_date bound holds too.
		now := b.arg(q.Now)
		where = append(where, "status = 'active'", "(due_end IS NULL OR due_end <= "+now+")")
		dueBound("<", now)
	}

	var order string
	if q.Sort == task.SortRelevance {
		order = rank + " DESC, id ASC"
		if c := q.After; c != nil {
			r, _ := strconv.ParseFloat(c.Value, 32)
			rv, id := b.arg(float32(r)), b.arg(c.ID)
			where = append(where, fmt.Sprintf("(%s < %s OR (%s = %s AND id > %s::uuid))", rank, rv, rank, rv, id))
		}
	} else {
		key, dir, cmp := sortKeys[q.Sort][boolIndex(q.Desc)], "ASC", ">"
		if q.Desc {
			dir, cmp = "DESC", "<"
		}
		order = key + " " + dir + ", id " + dir
		if c := q.After; c != nil {
			where = append(where, fmt.Sprintf("(%s, id) %s (%s, %s::uuid)", key, cmp, b.arg(cursorValue(q.Sort, q.Desc, c.Value)), b.arg(c.ID)))
		}
	}
	cols := taskColumns
	if rank != "" {
		cols += ", " + rank
	} else {
		cols += ", 0::real"
	}
	cols += ", due_date" // as stored, for the cursor: the task shows it clamped
	from := "tasks"
	if rank != "" {
		// The search index holds only this user's words (taskflow_search_ns),
		// which the planner cannot know: left alone it intersects the matches
		// with an index scan of all the user's rows. Matching first is cheaper.
		from = "(SELECT * FROM tasks WHERE search @@ to_tsquery('simple', $2) OFFSET 0) AS tasks"
	}
	sql := "SELECT " + cols + " FROM " + from + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + order + " LIMIT " + b.arg(q.Limit+1)
	return Query{SQL: sql, Args: b.args}
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

type builder struct{ args []any }

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// tsQuery renders search terms as a tsquery of word prefixes in the user's
// namespace. Terms hold only letters and digits (task.SearchTerms), so no
// tsquery operator can slip in.
func tsQuery(user string, terms []string) string {
	ns := searchNamespace(user)
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = "'" + ns + t + "':*"
	}
	return strings.Join(parts, " & ")
}

// searchNamespace is taskflow_search_ns (migrations/001_tasks.sql) in Go: the
// first eight hex digits of md5(user), digits mapped to the letters g..p.
func searchNamespace(user string) string {
	sum := md5.Sum([]byte(user))
	h := []byte(hex.EncodeToString(sum[:4]))
	for i, c := range h {
		if c >= '0' && c <= '9' {
			h[i] = 'g' + (c - '0')
		}
	}
	return string(h)
}

// cursorValue converts a cursor's text value into the sort key's SQL type.
func cursorValue(sort string, desc bool, v string) any {
	switch sort {
	case task.SortPriority:
		n, _ := strconv.Atoi(v)
		return int16(n)
	case task.SortTitle:
		return v
	case task.SortDue:
		if v == "" { // a task without a due date: the sentinel the key uses
			if desc {
				return pgInfinity(false)
			}
			return pgInfinity(true)
		}
	}
	return task.CursorTime(v)
}

// pgInfinity is PostgreSQL's ±infinity timestamp.
func pgInfinity(pos bool) any {
	if pos {
		return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
}

// cursorFor records t's position in a listing sorted by sort.
// storedDue is the row's due date as stored: a task shows one out of range
// clamped, and a cursor at the bound would list such rows again.
func cursorFor(q task.ListQuery, t task.Task, rank float32, storedDue *time.Time) task.Cursor {
	c := task.Cursor{Sort: q.Sort, Desc: q.Desc, ID: t.ID}
	switch q.Sort {
	case task.SortCreated:
		c.Value = t.CreatedAt.Format(time.RFC3339Nano)
	case task.SortUpdated:
		c.Value = t.UpdatedAt.Format(time.RFC3339Nano)
	case task.SortDue:
		if storedDue != nil {
			c.Value = task.CursorTimeValue(*storedDue)
		}
	case task.SortPriority:
		c.Value = strconv.Itoa(t.Priority.Rank())
	case task.SortTitle:
		c.Value = t.Title
	case task.SortRelevance:
		c.Value = strconv.FormatFloat(float64(rank), 'g', -1, 32)
	}
	return c
}

// List returns one page of the user's tasks and the cursor of the next page
// (nil on the last page).
func (s *Store) List(ctx context.Context, user string, q task.ListQuery) ([]task.Task, *task.Cursor, error) {
	bq := BuildList(user, q)
	rows, err := s.pool.Query(ctx, bq.SQL, bq.Args...)
	if err != nil {
		return nil, nil, dbErr(err)
	}
	defer rows.Close()
	items := make([]task.Task, 0, q.Limit)
	var (
		lastRank float32
		lastDue  *time.Time
	)
	for rows.Next() {
		if len(items) == q.Limit {
			c := cursorFor(q, items[len(items)-1], lastRank, lastDue)
			return items, &c, nil
		}
		t, err := scanTask(rankRow{rows, &lastRank, &lastDue})
		if err != nil {
			return nil, nil, dbErr(err)
		}
		items = append(items, t)
	}
	return items, nil, dbErr(rows.Err())
}

// rankRow lets scanTask read a row that carries the rank and the stored due
// date as its last columns.
type rankRow struct {
	pgx.Rows
	rank *float32
	due  **time.Time
}

func (r rankRow) Scan(dest ...any) error { return r.Rows.Scan(append(dest, r.rank, r.due)...) }
