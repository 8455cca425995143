-- idxadvise: cumulative write counters per user table (all zero on a standby)
-- min_server_version: 100000
-- columns: schema text, table_name text, n_tup_ins int8, n_tup_upd int8, n_tup_hot_upd int8,
--          n_tup_del int8, n_live_tup int8, n_dead_tup int8
SELECT /* idxadvise */ schemaname::text AS schema, relname::text AS table_name, n_tup_ins, n_tup_upd,
       n_tup_hot_upd, n_tup_del, n_live_tup, n_dead_tup
FROM pg_stat_user_tables
ORDER BY schemaname, relname
