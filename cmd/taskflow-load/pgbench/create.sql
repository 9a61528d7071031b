-- The create's statement (pkg/store insertTask: a task without tags and its task.created
-- outbox row), for pgbench: pgbench -n -M prepared -c 32 -j 2 -T 15 -f THIS "$DATABASE_URL"
-- on a migrated database (taskflow-dev migrate). BENCHMARKS.md, issue 13, uses it.
\set shard random(0, 7)
WITH tags_added AS (INSERT INTO tags (user_id, key, name, color)
		SELECT 'bench', lower(u.name), u.name, u.color FROM unnest('{}'::text[], '{}'::text[]) AS u(name, color)
		ON CONFLICT DO NOTHING),
	counted AS (INSERT INTO tag_counts (user_id, key, shard, n)
		SELECT d.user_id, d.key, :shard, d.n
		FROM unnest('{}'::text[], '{}'::text[], '{}'::bigint[]) AS d(user_id, key, n)
		ORDER BY d.user_id, d.key
		ON CONFLICT (user_id, key, shard) DO UPDATE SET n = tag_counts.n + EXCLUDED.n),
	ids AS (SELECT gen_random_uuid() AS tid, gen_random_uuid() AS eid, now() AS ts),
	events_added AS (INSERT INTO outbox (event_id, type, source, subject, topics, time, data, traceparent, tracestate, extensions)
		SELECT eid, 'dev.taskflow.task.created', '/taskflow/create', tid::text, '{task-events,task-updates}', ts,
			'{"task":{"id":"' || tid || '","title":"bench task","description":"","status":"active","priority":"medium","tags":[],"due_date": null,"reminder_time": null,"is_recurring": false,"recurrence_pattern": null,"series_id": null,"completed_at": null,"created_at":"2026-11-30T07:18:22.382717Z","updated_at":"2026-11-30T07:18:22.382717Z"},"user_id":"bench"}',
			NULL, NULL, NULL FROM ids)
	INSERT INTO tasks (id, user_id, title, description, status, priority, tags, tag_keys, due_date,
		reminder_time, is_recurring, recurrence, series_id, completed_at, created_at, updated_at, series_start)
	SELECT tid, 'bench', 'bench task', '', 'active', 1, '{}', '{}', NULL,
		NULL, false, NULL, NULL, NULL, ts, ts, NULL FROM ids
	RETURNING id, user_id, title, description, status, priority, tags, due_date, reminder_time,
	is_recurring, recurrence, series_id, completed_at, created_at, updated_at, version, series_start;
