package drill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskflow/taskflow/pkg/kafka"
)

// check waits up to settle for the pipeline to catch up, then records in rep
// every acknowledged write, event, successor, audit row or reminder that is
// missing or doubled.
func check(ctx context.Context, db *pgxpool.Pool, kafkaAddr string, l *load, rep *Report, settle time.Duration) {
	l.mu.Lock()
	created := append([]string{}, l.created...)
	completed := append([]string{}, l.completed...)
	var reminded []string
	now := time.Now()
	for id, at := range l.reminders {
		if at.Before(now) {
			reminded = append(reminded, id)
		}
	}
	l.mu.Unlock()
	rep.Creates, rep.Complete, rep.Reminded = len(created), len(completed), len(reminded)
	deadline := time.Now().Add(settle)
	for {
		problems, events, late := verify(ctx, db, kafkaAddr, created, completed, reminded)
		if len(problems) == 0 || time.Now().After(deadline) {
			// Appended to what the drills found (a fault not recovered from).
			rep.Problems, rep.Events, rep.Lateness = append(rep.Problems, problems...), events, late
			return
		}
		time.Sleep(2 * time.Second)
	}
}

func verify(ctx context.Context, db *pgxpool.Pool, kafkaAddr string, created, completed, reminded []string) ([]string, int, time.Duration) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	count := func(sql string, args ...any) int {
		var n int
		if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			add("query %q: %v", sql, err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM tasks WHERE id = ANY($1::uuid[])`, created); n != len(created) {
		add("%d of %d acknowledged creates are missing from the database", len(created)-n, len(created))
	}
	if n := count(`SELECT count(DISTINCT task_id) FROM audit_events
		WHERE type = 'dev.taskflow.task.created' AND task_id = ANY($1::uuid[])`, created); n != len(created) {
		add("%d of %d acknowledged creates have no audit row", len(created)-n, len(created))
	}
	if n := count(`SELECT count(*) FROM (SELECT task_id, type FROM audit_events
		WHERE type IN ('dev.taskflow.task.created', 'dev.taskflow.task.completed')
		GROUP BY task_id, type HAVING count(*) > 1) d`); n != 0 {
		add("%d tasks have a duplicated created or completed audit row", n)
	}
	if n := count(`SELECT count(*) FROM (SELECT predecessor_id FROM tasks WHERE predecessor_id = ANY($1::uuid[])
		GROUP BY predecessor_id HAVING count(*) = 1) s`, completed); n != len(completed) {
		add("%d of %d completed recurring tasks do not have exactly one successor", len(completed)-n, len(completed))
	}
	if n := count(`SELECT count(*) FROM (SELECT task_id FROM notifications WHERE task_id = ANY($1::uuid[])
		GROUP BY task_id HAVING count(*) = 1) s`, reminded); n != len(reminded) {
		add("%d of %d due reminders do not have exactly one notification", len(reminded)-n, len(reminded))
	}
	if n := count(`SELECT count(*) FROM (SELECT task_id, remind_at FROM notifications
		GROUP BY task_id, remind_at HAVING count(*) > 1) d`); n != 0 {
		add("%d reminders were notified twice", n)
	}
	if n := count(`SELECT count(*) FROM dead_letters`); n != 0 {
		add("%d events went to the dead-letter sink", n)
	}
	var late time.Duration
	_ = db.QueryRow(ctx, `SELECT coalesce(max(delivered_at - remind_at), '0') FROM notifications
		WHERE task_id = ANY($1::uuid[])`, reminded).Scan(&late)

	// Every acknowledged create and completion, and every successor, is in
	// task-events; no event was published twice under two ids.
	records, err := readTopic(ctx, kafkaAddr, "task-events")
	if err != nil {
		add("reading task-events: %v", err)
		return problems, 0, late
	}
	has := func(typ, id string) bool { return records[typ+" "+id] > 0 }
	missing := 0
	for _, id := range created {
		if !has("dev.taskflow.task.created", id) {
			missing++
		}
	}
	for _, id := range completed {
		if !has("dev.taskflow.task.completed", id) {
			missing++
		}
	}
	rows, err := db.Query(ctx, `SELECT id::text FROM tasks WHERE predecessor_id IS NOT NULL`)
	if err == nil {
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil && !has("dev.taskflow.task.created", id) {
				missing++
			}
		}
		rows.Close()
	}
	if missing > 0 {
		add("%d events of acknowledged writes or successors are missing from task-events", missing)
	}
	for key, n := range records {
		if n > 1 && strings.HasPrefix(key, "dev.taskflow.task.created ") {
			add("%s was published under %d event ids", key, n)
		}
	}
	total := 0
	for _, n := range records {
		total += n
	}
	return problems, total, late
}

// readTopic reads topic from the start and counts distinct event ids by
// "type key" (a redelivered record has the same id and counts once).
func readTopic(ctx context.Context, addr, topic string) (map[string]int, error) {
	records, err := kafka.ReadAll(ctx, []string{addr}, topic)
	if err != nil {
		return nil, err
	}
	ids := map[string]map[string]bool{}
	for _, r := range records {
		key := kafka.Header(r, "ce_type") + " " + string(r.Key)
		if ids[key] == nil {
			ids[key] = map[string]bool{}
		}
		ids[key][kafka.Header(r, "ce_id")] = true
	}
	out := map[string]int{}
	for k, v := range ids {
		out[k] = len(v)
	}
	return out, nil
}
