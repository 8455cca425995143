-- idxadvise: server facts
-- min_server_version: 100000
-- columns: version_num int4, version text, in_recovery bool, database text,
--          hypopg_version text (null when not created), pgss_version text (null when not created),
--          database_size int8 (pg_database_size of this database, bytes),
--          shared_buffers int8 (the setting, bytes)
SELECT /* idxadvise */ current_setting('server_version_num')::int4 AS version_num,
       current_setting('server_version') AS version,
       pg_is_in_recovery() AS in_recovery,
       current_database()::text AS database,
       (SELECT extversion FROM pg_extension WHERE extname = 'hypopg') AS hypopg_version,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements') AS pgss_version,
       pg_database_size(current_database()) AS database_size,
       pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers
