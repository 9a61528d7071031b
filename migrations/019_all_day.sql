-- A user's settings: the time zone an all-day due date is read in (unless
-- its series names one) and the time of day that an all-day task's relative
-- reminders count back from. A user without a row has the defaults.
CREATE TABLE user_settings (
    user_id                  text PRIMARY KEY,
    timezone                 text NOT NULL DEFAULT 'UTC',
    all_day_reminder_minutes integer NOT NULL DEFAULT 0
        CHECK (all_day_reminder_minutes BETWEEN 0 AND 1439), -- minutes past midnight
    updated_at               timestamptz NOT NULL DEFAULT now()
);

-- An all-day task (due on a date, without a time) keeps due_date as the first
-- instant of that date in due_zone, so it sorts with the timed tasks of its
-- day, before them; due_day is the date itself (NULL: a timed task), due_end
-- the first instant of the next day there (the task is overdue from then),
-- and due_base_minutes the wall-clock minutes past the day's start that its
-- relative reminders count back from, fixed when the task is written.
ALTER TABLE tasks
    ADD COLUMN due_day date,
    ADD COLUMN due_zone text,
    ADD COLUMN due_end timestamptz,
    ADD COLUMN due_base_minutes integer;
