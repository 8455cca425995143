-- idxadvise: check, pg_prewarm
-- min_server_version: 90400
-- columns: available text (default version, null when the server does not offer it),
--   installed text (version created in this database, null when not created)
SELECT /* idxadvise */ (SELECT default_version FROM pg_available_extensions WHERE name = 'pg_prewarm') AS available,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_prewarm') AS installed
