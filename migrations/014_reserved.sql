-- Number 14 is reserved for the notify function's webhook-delivery migration,
-- which lands separately; this placeholder keeps the sequence whole until then
-- (tern refuses a gap) and is replaced by it.
SELECT 1;
