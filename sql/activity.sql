-- idxadvise: activity sample
-- min_server_version: 140000 (pg_stat_activity.query_id)
-- columns: query_id int8 (NULL when compute_query_id is off), query text
-- The running statements of the database's other client backends, as sent (literals included
-- for client-side binding), cut at track_activity_query_size. Other roles' texts need
-- pg_read_all_stats (in pg_monitor).
SELECT /* idxadvise */ query_id, query
FROM pg_stat_activity
WHERE state = 'active'
  AND backend_type = 'client backend'
  AND datname = current_database()
  AND pid <> pg_backend_pid()
  AND query NOT LIKE '-- idxadvise:%'
