-- Who made each change in a task's history: the CloudEvent source of the
-- event, the function that wrote it ("/taskflow/update", "/taskflow/mcp",
-- "/taskflow/recurrence", ...). Rows recorded before have none (NULL), and
-- their history entries say so rather than guess.
ALTER TABLE audit_events ADD COLUMN source text;
