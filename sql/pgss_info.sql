-- idxadvise: when pg_stat_statements was last reset, and how many entries it evicted
-- min_server_version: 140000 (pg_stat_statements 1.9)
-- columns: stats_reset text, dealloc int8
SELECT stats_reset::text AS stats_reset, dealloc::int8 AS dealloc FROM pg_stat_statements_info
