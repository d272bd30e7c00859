-- Pruning of groups: as sqlite/0027_group_pruning.sql.
CREATE INDEX group_departures_left ON group_departures (left_at);
CREATE INDEX chat_groups_deleted ON chat_groups (deleted_at) WHERE deleted_at IS NOT NULL;
