package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/task"
)

// Settings returns the user's settings (table user_settings): their time
// zone and all-day reminder time, or task.DefaultSettings for a user who
// never changed them.
func (s *Store) Settings(ctx context.Context, user string) (task.Settings, error) {
	out := task.DefaultSettings
	var minutes int32
	err := s.pool.QueryRow(ctx, `SELECT timezone, all_day_reminder_minutes FROM user_settings WHERE user_id = $1`,
		user).Scan(&out.Timezone, &minutes)
	if errors.Is(err, pgx.ErrNoRows) {
		return task.DefaultSettings, nil
	}
	out.AllDayReminderMinutes = int(minutes)
	return out, dbErr(err)
}

// UpdateSettings applies change to the user's settings as stored, in one
// transaction (the row locked, so concurrent changes of different fields
// both hold), and returns the settings stored. An error from change stores
// nothing.
func (s *Store) UpdateSettings(ctx context.Context, user string, change func(task.Settings) (task.Settings, error)) (task.Settings, error) {
	var out task.Settings
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO user_settings (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, user); err != nil {
			return err
		}
		cur := task.DefaultSettings
		var minutes int32
		if err := tx.QueryRow(ctx, `SELECT timezone, all_day_reminder_minutes FROM user_settings
			WHERE user_id = $1 FOR UPDATE`, user).Scan(&cur.Timezone, &minutes); err != nil {
			return err
		}
		cur.AllDayReminderMinutes = int(minutes)
		next, err := change(cur)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE user_settings SET timezone = $2, all_day_reminder_minutes = $3, updated_at = now()
			WHERE user_id = $1`, user, next.Timezone, next.AllDayReminderMinutes)
		out = next
		return err
	})
	return out, err
}
