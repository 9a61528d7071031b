-- Several reminders per task (at most 5): reminders holds each one as the API
-- shows it ({"at"} absolute, or {"before_due", "at"} relative, "at" being its
-- computed instant), ordered by instant; reminder_times holds the same
-- instants for queries; reminder_time stays the earliest, for the index the
-- reconciler uses and for today's clients. A task's reminder fires once per
-- instant (reminders_fired is keyed by task and instant already).
ALTER TABLE tasks
    ADD COLUMN reminders jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN reminder_times timestamptz[] NOT NULL DEFAULT '{}';

-- Each task with a reminder time has one absolute reminder at it.
UPDATE tasks SET reminders = jsonb_build_array(jsonb_build_object('at',
        to_char(reminder_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))),
    reminder_times = ARRAY[reminder_time]
WHERE reminder_time IS NOT NULL;

-- A delivered reminder snoozed: it fires once more at "until" (one pending
-- snooze per notification; snoozing again moves it). fired_at is set when
-- it fired, in the same transaction as its reminder.due event.
CREATE TABLE notification_snoozes (
    notification_id uuid PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    user_id         text NOT NULL,
    task_id         uuid NOT NULL,
    until           timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    fired_at        timestamptz
);
CREATE INDEX notification_snoozes_pending ON notification_snoozes (until) WHERE fired_at IS NULL;
