-- idxadvise: check track_activity_query_size against the workload's statement lengths
-- min_server_version: 90600
-- columns: track_activity_query_size int4 (bytes), longer int8 (statements of this database
--   longer than it), statements int8, longest int8 (bytes)
SELECT /* idxadvise */ s.size AS track_activity_query_size,
       count(*) FILTER (WHERE octet_length(p.query) >= s.size)::int8 AS longer,
       count(p.query)::int8 AS statements,
       coalesce(max(octet_length(p.query)), 0)::int8 AS longest
FROM (SELECT setting::int4 AS size FROM pg_settings WHERE name = 'track_activity_query_size') s
LEFT JOIN pg_stat_statements p
  ON p.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY s.size
