-- A reminder fires once per task and reminder time: the reminder function
-- records it here in the same transaction as its reminder.due event.
CREATE TABLE reminders_fired (
    task_id   uuid NOT NULL,
    remind_at timestamptz NOT NULL,
    fired_at  timestamptz NOT NULL,
    PRIMARY KEY (task_id, remind_at)
);
-- The reconciler's question: which active tasks have a reminder still to fire?
CREATE INDEX tasks_pending_reminders ON tasks (reminder_time) WHERE status = 'active' AND reminder_time IS NOT NULL;
