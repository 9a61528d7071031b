-- Repeat from completion, skip and end a series (issue 14, items 3 and 4).
--
-- A skipped occurrence of a series is done with but not completed: its own
-- status, beside active and completed.
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check CHECK (status IN ('active', 'completed', 'skipped'));

-- A task's position in its series, counted from its series_start (1 for the
-- anchor) and carried +1 to each successor. A series that repeats from
-- completion is re-anchored at every occurrence, so its COUNT
-- (recurrence_pattern.occurrences) cannot be counted from series_start's
-- rule: it is counted here. NULL: not known (a series stored before this
-- column), read as the anchor when the series is switched to repeat from
-- completion (which re-anchors it there anyway).
ALTER TABLE tasks ADD COLUMN occurrence integer CHECK (occurrence >= 1);
