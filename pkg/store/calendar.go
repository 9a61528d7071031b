package store

import (
	"context"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

// SetCalendarFeed makes hash (the SHA-256 of a new secret) user's calendar
// feed: created is true when the user had none, false when it replaced, and
// so invalidated, the one they had (rotation).
func (s *Store) SetCalendarFeed(ctx context.Context, user string, hash []byte, now time.Time) (created bool, err error) {
	err = s.pool.QueryRow(ctx, `INSERT INTO calendar_feeds (user_id, secret_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at
		RETURNING xmax = 0`, user, hash, now).Scan(&created)
	return created, dbErr(err)
}

// DeleteCalendarFeed revokes user's calendar feed; revoking none is no error.
func (s *Store) DeleteCalendarFeed(ctx context.Context, user string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM calendar_feeds WHERE user_id = $1`, user)
	return dbErr(err)
}

// FeedState is what a calendar feed's body depends on, read in one cheap
// aggregate so that a poll whose ETag still holds costs no task rows: the
// number of the user's active tasks, their latest updated_at, the sum of
// their versions (every change of an active task raises one), and the IANA
// zones of their series (each needs a VTIMEZONE), sorted.
type FeedState struct {
	User        string
	Active      int64
	LastUpdated time.Time
	Versions    int64
	Zones       []string
	// Anchors is the earliest series start or due date among those zones'
	// tasks: the VTIMEZONEs cover the years from there (zero when none).
	Anchors time.Time
}

// CalendarFeed finds the feed whose secret hashes to hash and the state of
// its user's active tasks; errs.ErrNotFound when no feed has that hash (never
// created, rotated away or revoked).
func (s *Store) CalendarFeed(ctx context.Context, hash []byte) (FeedState, error) {
	var (
		st      FeedState
		last    *time.Time
		anchors *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT f.user_id, count(t.id), max(t.updated_at), coalesce(sum(t.version), 0)::bigint,
			coalesce(array_agg(DISTINCT t.recurrence->>'timezone') FILTER (WHERE t.is_recurring AND t.recurrence->>'timezone' IS NOT NULL), '{}'),
			min(coalesce(t.series_start, t.due_date)) FILTER (WHERE t.is_recurring)
		FROM calendar_feeds f LEFT JOIN tasks t ON t.user_id = f.user_id AND t.status = 'active'
		WHERE f.secret_hash = $1 GROUP BY f.user_id`, hash).Scan(&st.User, &st.Active, &last, &st.Versions, &st.Zones, &anchors)
	if err != nil {
		return FeedState{}, dbErr(err)
	}
	if last != nil {
		st.LastUpdated = last.UTC()
	}
	if anchors != nil {
		st.Anchors = anchors.UTC()
	}
	return st, nil
}

// EachActiveTask calls yield with each of user's active tasks, by due date
// (tasks without one last), then id, streaming the rows rather than loading
// them all; it stops at yield's first error and returns it.
func (s *Store) EachActiveTask(ctx context.Context, user string, yield func(task.Task) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE user_id = $1 AND status = 'active'
		ORDER BY coalesce(due_date, 'infinity'::timestamptz), id`, user)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return dbErr(err)
		}
		if err := yield(t); err != nil {
			return err
		}
	}
	return dbErr(rows.Err())
}
