-- idxadvise: check track_activity_query_size against the workload's statement texts
-- min_server_version: 90600
-- columns: track_activity_query_size int4 (bytes), query text (one row per statement of this
--   database; a single row with a null query when there is none). Which texts count (those
--   idxadvise would analyse: not utility or DDL statements, not its own) is decided by the
--   caller, with the parser.
SELECT /* idxadvise */ s.size AS track_activity_query_size, p.query
FROM (SELECT setting::int4 AS size FROM pg_settings WHERE name = 'track_activity_query_size') s
LEFT JOIN pg_stat_statements p
  ON p.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
