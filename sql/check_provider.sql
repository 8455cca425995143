-- idxadvise: check, which managed service runs the server: the roles and settings each
-- provider creates (docs/managed-services.md lists them with their sources)
-- min_server_version: 100000
-- columns: roles text[] (provider roles that exist), settings text[] (provider settings that are
--          set, real or placeholder), aurora bool (Aurora's aurora_version() function exists)
SELECT /* idxadvise */ ARRAY(SELECT rolname::text FROM pg_roles
             WHERE rolname IN ('rds_superuser', 'rdsadmin', 'cloudsqlsuperuser', 'cloudsqladmin',
                               'azure_pg_admin', 'azuresu', 'supabase_admin', 'service_role',
                               'authenticator', 'neon_superuser', 'crunchy_read', 'crunchy_write')
             ORDER BY 1) AS roles,
       ARRAY(SELECT name FROM unnest(ARRAY['rds.extensions', 'rds.force_ssl',
                                           'cloudsql.iam_authentication', 'cloudsql.enable_pgaudit',
                                           'azure.extensions', 'neon.tenant_id', 'neon.timeline_id',
                                           'supautils.reserved_roles']) AS name
             WHERE current_setting(name, true) IS NOT NULL
             ORDER BY 1) AS settings,
       to_regproc('aurora_version') IS NOT NULL AS aurora
