-- idxadvise: check, settings and privileges
-- min_server_version: 100000
-- columns: preload text (null when the role may not read it), pgss_loaded bool (placeholder
--          settings of an unloaded module are not in pg_settings),
--          pgss_track text, pgss_max int4, hypopg_available text (default version, null when
--          the package is not installed), is_superuser bool, pg_monitor bool,
--          pg_read_all_data bool (false before PG14), unreadable_tables int8 (user tables
--          the role cannot SELECT from, or whose schema it may not use: their statements cannot be planned),
--          unreadable_example text, role text
SELECT /* idxadvise */ (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS preload,
       EXISTS (SELECT FROM pg_settings WHERE name = 'pg_stat_statements.max') AS pgss_loaded,
       (SELECT setting FROM pg_settings WHERE name = 'pg_stat_statements.track') AS pgss_track,
       (SELECT setting::int4 FROM pg_settings WHERE name = 'pg_stat_statements.max') AS pgss_max,
       (SELECT default_version FROM pg_available_extensions WHERE name = 'hypopg') AS hypopg_available,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS is_superuser,
       pg_has_role(current_user, 'pg_monitor', 'USAGE') AS pg_monitor,
       (EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg_read_all_data')
        AND pg_has_role(current_user, (SELECT oid FROM pg_roles WHERE rolname = 'pg_read_all_data'), 'USAGE')) AS pg_read_all_data,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
           AND NOT (has_table_privilege(c.oid, 'SELECT') AND has_schema_privilege(n.oid, 'USAGE')))::int8 AS unreadable_tables,
       (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
           AND NOT (has_table_privilege(c.oid, 'SELECT') AND has_schema_privilege(n.oid, 'USAGE'))
         ORDER BY 1 LIMIT 1) AS unreadable_example,
       current_user::text AS role
