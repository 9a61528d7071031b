-- Recurring series: every occurrence keeps the series' DTSTART (the anchor its
-- occurrences are computed from), and each occurrence has at most one
-- successor, whatever the number of task.completed deliveries.
ALTER TABLE tasks
    ADD COLUMN series_start   timestamptz,
    ADD COLUMN predecessor_id uuid UNIQUE;
