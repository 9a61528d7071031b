-- In-app notifications: one per reminder (task and reminder time), however
-- often its reminder.due event is delivered.
CREATE TABLE notifications (
    id                   uuid PRIMARY KEY,
    user_id              text NOT NULL,
    task_id              uuid NOT NULL,
    title                text NOT NULL,
    message              text NOT NULL,
    remind_at            timestamptz NOT NULL,
    delivered_at         timestamptz NOT NULL,
    read                 boolean NOT NULL DEFAULT false,
    webhook_delivered_at timestamptz, -- set once the webhook took it (or refused it for good)
    webhook_status       integer,
    UNIQUE (task_id, remind_at)
);
CREATE INDEX notifications_user ON notifications (user_id, delivered_at DESC, id DESC);
