-- The number of a user's tasks carrying each tag key (GET /api/tags), kept
-- by every write in its own statement or transaction instead of counted on
-- each read. A (user, key) count is spread over shards (ops.CountShards, 8):
-- concurrent writes of one user with the same tag add to different rows
-- rather than queue on one row lock. Its count is the sum of its shards; a
-- shard may go negative (a task counted on one shard, removed on another).
CREATE TABLE tag_counts (
    user_id text     NOT NULL,
    key     text     NOT NULL, -- as in tasks.tag_keys
    shard   smallint NOT NULL,
    n       bigint   NOT NULL,
    PRIMARY KEY (user_id, key, shard)
);

-- The tasks there are now, on shard 0, in one pass. A task counts once per
-- key, as the subquery it replaces counted it (tag_keys @> ARRAY[key]), even
-- if a row stored before tags were de-duplicated repeats a key.
INSERT INTO tag_counts (user_id, key, shard, n)
SELECT t.user_id, k.key, 0, count(*)
FROM tasks t, LATERAL (SELECT DISTINCT unnest(t.tag_keys) AS key) k
GROUP BY 1, 2;
