-- idxadvise: index builds in progress
-- min_server_version: 120000 (pg_stat_progress_create_index)
-- columns: schema text, index text, phase text
-- The CREATE INDEX (CONCURRENTLY) runs in this database now, by index, with their phase: an
-- index built concurrently is INVALID until its build finishes, and one left INVALID with no
-- build running is a failed or cancelled build. Other roles' builds are visible only with
-- pg_read_all_stats (in pg_monitor).
SELECT /* idxadvise */ n.nspname::text AS schema, c.relname::text AS index, p.phase::text AS phase
FROM pg_stat_progress_create_index p
JOIN pg_class c ON c.oid = p.index_relid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.datname = current_database()
ORDER BY 1, 2
