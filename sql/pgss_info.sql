-- idxadvise: when pg_stat_statements was last reset, how many entries it evicted, and how many
-- seconds its counters cover
-- min_server_version: 140000 (pg_stat_statements 1.9)
-- columns: stats_reset text, dealloc int8, seconds float8
SELECT /* idxadvise */ stats_reset::text AS stats_reset, dealloc::int8 AS dealloc,
       extract(epoch FROM now() - stats_reset)::float8 AS seconds
FROM pg_stat_statements_info
