-- idxadvise: check, pg_qualstats
-- min_server_version: 90600
-- columns: available text (default version, null when the server does not offer it),
--   installed text (version created in this database, null when not created), loaded bool
--   (its settings exist: the library is in shared_preload_libraries), sample_rate text (null
--   when not loaded)
SELECT /* idxadvise */ (SELECT default_version FROM pg_available_extensions WHERE name = 'pg_qualstats') AS available,
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_qualstats') AS installed,
       EXISTS (SELECT FROM pg_settings WHERE name = 'pg_qualstats.enabled') AS loaded,
       (SELECT setting FROM pg_settings WHERE name = 'pg_qualstats.sample_rate') AS sample_rate
