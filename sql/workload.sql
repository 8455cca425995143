-- idxadvise: the workload of the current database from pg_stat_statements
-- min_server_version: 130000 (total_exec_time/mean_exec_time; before 13: workload_pre13.sql)
-- columns: queryid int8 (null when hidden), query text, calls int8, total_time_ms float8,
--          mean_time_ms float8, rows int8, shared_blks_hit int8, shared_blks_read int8,
--          stddev_time_ms float8
SELECT /* idxadvise */ s.queryid, s.query, s.calls, s.total_exec_time AS total_time_ms,
       s.mean_exec_time AS mean_time_ms, s.rows, s.shared_blks_hit, s.shared_blks_read,
       s.stddev_exec_time AS stddev_time_ms
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY s.total_exec_time DESC, s.queryid
