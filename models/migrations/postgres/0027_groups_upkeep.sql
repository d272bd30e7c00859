-- Groups upkeep: as sqlite/0027_groups_upkeep.sql.
CREATE INDEX group_departures_left ON group_departures (left_at);
CREATE INDEX chat_groups_deleted ON chat_groups (deleted_at) WHERE deleted_at IS NOT NULL;

-- A group's mesibo jobs run in order (Outbox.Claim): the older jobs of a
-- group are found by it.
CREATE INDEX outbox_group_jobs ON outbox (recipient, id) WHERE kind = 'mesibo_group';
