-- The notification webhook's deliveries, apart from the notifications: a row
-- is stored with its notification, in the same transaction, when a webhook is
-- configured, and the notify function's webhook worker posts it on its own
-- schedule, so a webhook that is down never holds up the in-app notification
-- or its live push. A delivery is done once delivered_at is set: the webhook
-- took it (2xx), refused it for good (a 4xx other than 408 and 429), or it
-- was given up after a day; a done row can be purged.
CREATE TABLE webhook_deliveries (
    notification_id uuid PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_at         timestamptz NOT NULL,       -- when the worker may try it (again)
    delivered_at    timestamptz,                -- set once done
    status          integer                     -- the webhook's last answer; 0: no answer
);
CREATE INDEX webhook_deliveries_owed ON webhook_deliveries (next_at) WHERE delivered_at IS NULL;
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (delivered_at) WHERE delivered_at IS NOT NULL;

-- Deliveries still owed move over; those done are history no one reads.
INSERT INTO webhook_deliveries (notification_id, created_at, attempts, next_at)
    SELECT id, delivered_at, webhook_attempts, webhook_next_at FROM notifications
    WHERE webhook_delivered_at IS NULL AND webhook_next_at IS NOT NULL;
DROP INDEX notifications_webhook_owed;
ALTER TABLE notifications
    DROP COLUMN webhook_delivered_at,
    DROP COLUMN webhook_status,
    DROP COLUMN webhook_attempts,
    DROP COLUMN webhook_next_at;
