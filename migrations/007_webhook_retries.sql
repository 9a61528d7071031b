-- The notification webhook's delivery queue: an owed delivery is retried,
-- further apart each time, until the webhook takes it or refuses it for good.
ALTER TABLE notifications
    ADD COLUMN webhook_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN webhook_next_at  timestamptz;
CREATE INDEX notifications_webhook_owed ON notifications (webhook_next_at)
    WHERE webhook_delivered_at IS NULL AND webhook_next_at IS NOT NULL;
