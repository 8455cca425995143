-- idxadvise: the workload of the current database from pg_stat_statements
-- min_server_version: 90600
-- max_server_version: 129999 (total_time/mean_time were renamed in 13)
-- columns: queryid int8 (null when hidden), query text, calls int8, total_time_ms float8,
--          mean_time_ms float8, rows int8, shared_blks_hit int8, shared_blks_read int8,
--          stddev_time_ms float8
SELECT /* idxadvise */ s.queryid, s.query, s.calls, s.total_time AS total_time_ms,
       s.mean_time AS mean_time_ms, s.rows, s.shared_blks_hit, s.shared_blks_read,
       s.stddev_time AS stddev_time_ms
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.total_time DESC, s.queryid
