-- idxadvise: activity sample
-- min_server_version: 90600
-- max_server_version: 139999 (no query_id before 14)
-- columns: query_id int8 (always NULL), query text
SELECT /* idxadvise */ NULL::int8 AS query_id, query
FROM pg_stat_activity
WHERE state = 'active'
  AND backend_type = 'client backend'
  AND datname = current_database()
  AND pid <> pg_backend_pid()
  AND query NOT LIKE '-- idxadvise:%'
