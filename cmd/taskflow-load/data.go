package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// words is a vocabulary of 20,000 made-up words drawn with a Zipf-Mandelbrot
// law (s 1.1, offset 50): a few words are common (the most common one is in
// about one task in twenty) and most are rare, as in real task titles.
type words struct {
	list []string
	zipf *rand.Zipf
}

func newWords(r *rand.Rand) *words {
	syl := []string{"ba", "ke", "lo", "mi", "nu", "ra", "si", "to", "ve", "za", "pre", "con", "tion", "ment", "ing", "er", "al", "ous"}
	seen := map[string]bool{}
	w := &words{}
	for len(w.list) < 20000 {
		n := 2 + r.IntN(4)
		var b strings.Builder
		for range n {
			b.WriteString(syl[r.IntN(len(syl))])
		}
		if s := b.String(); !seen[s] {
			seen[s] = true
			w.list = append(w.list, s)
		}
	}
	w.zipf = rand.NewZipf(r, 1.1, 50, uint64(len(w.list)-1))
	return w
}

func (w *words) pick() string { return w.list[w.zipf.Uint64()] }

func (w *words) phrase(n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = w.pick()
	}
	return strings.Join(p, " ")
}

var tagNames = []string{"work", "home", "errands", "health", "finance", "family", "study", "travel", "garden", "car",
	"music", "books", "sport", "admin", "ideas", "urgent-ish", "q1", "q2", "q3", "q4"}

// seed fills the tasks table up to -tasks rows, -user-tasks of them for
// -user, with COPY straight into PostgreSQL (the load is on the API, not on
// making the data).
func seed(ctx context.Context, o options) error {
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	if err := store.EnsureDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var have int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM tasks").Scan(&have); err != nil {
		return err
	}
	var haveUser int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM tasks WHERE user_id = $1", o.user).Scan(&haveUser); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(o.seed, 7))
	w := newWords(r)
	now := time.Now().UTC()
	start := time.Now()
	userLeft := max(0, o.userTasks-haveUser)
	othersLeft := max(0, o.tasks-have-userLeft)
	if _, err := conn.Exec(ctx, `INSERT INTO tags (user_id, key, name, color)
		SELECT $1, t, t, '#4b5563' FROM unnest($2::text[]) AS t ON CONFLICT DO NOTHING`, o.user, tagNames); err != nil {
		return err
	}
	total := userLeft + othersLeft
	const batch = 50_000
	for done := 0; done < total; {
		n := min(batch, total-done)
		rows := make([][]any, 0, n)
		counts := map[[2]string]int64{} // (user, tag key) → tasks, for tag_counts
		for i := 0; i < n; i++ {
			user := o.user
			if done+i >= userLeft {
				user = fmt.Sprintf("user-%04d", r.IntN(900))
			}
			rw := row(r, w, user, now)
			for _, k := range rw[7].([]string) { // tag_keys, distinct
				counts[[2]string{user, k}]++
			}
			rows = append(rows, rw)
		}
		if err := copyBatch(ctx, conn, rows, counts); err != nil {
			return err
		}
		done += n
		fmt.Fprintf(o.out, "seeded %d/%d (%s)\n", done, total, time.Since(start).Round(time.Second))
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE tasks"); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "tasks in table: %d, for %s: %d (%s)\n", have+total, o.user, haveUser+userLeft, time.Since(start).Round(time.Second))
	return nil
}

// copyBatch copies rows into tasks and adds them to the tag counts the
// writes keep (migration 011), in one transaction.
func copyBatch(ctx context.Context, conn *pgx.Conn, rows [][]any, counts map[[2]string]int64) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tasks"}, []string{"id", "user_id", "title", "description",
			"status", "priority", "tags", "tag_keys", "due_date", "completed_at", "created_at", "updated_at"},
			pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		var users, keys []string
		var ns []int64
		for uk, n := range counts {
			users, keys, ns = append(users, uk[0]), append(keys, uk[1]), append(ns, n)
		}
		_, err := tx.Exec(ctx, `INSERT INTO tag_counts (user_id, key, shard, n)
			SELECT u, k, 0, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(u, k, n)
			ON CONFLICT (user_id, key, shard) DO UPDATE SET n = tag_counts.n + EXCLUDED.n`, users, keys, ns)
		return err
	})
}

func row(r *rand.Rand, w *words, user string, now time.Time) []any {
	id, _ := uuid.NewV7()
	created := now.Add(-time.Duration(r.IntN(365*24)) * time.Hour)
	var due, completed *time.Time
	if r.IntN(10) < 7 {
		d := now.Add(time.Duration(r.IntN(120*24)-30*24) * time.Hour).Truncate(time.Minute)
		due = &d
	}
	status := task.Active
	if r.IntN(10) < 3 {
		status = task.Completed
		c := created.Add(time.Duration(r.IntN(240)) * time.Hour)
		completed = &c
	}
	var tags []string
	for range r.IntN(4) {
		t := tagNames[r.IntN(len(tagNames))]
		if !contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if tags == nil {
		tags = []string{}
	}
	return []any{id, user, w.phrase(2 + r.IntN(5)), w.phrase(r.IntN(16)), string(status), int16(r.IntN(4)),
		tags, tags, due, completed, created, created}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
