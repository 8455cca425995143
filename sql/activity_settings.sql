-- idxadvise: activity settings
-- min_server_version: 90600
-- columns: track_activity_query_size int4 (bytes), compute_query_id text (NULL before 14),
--   read_all_stats bool (may read other roles' texts)
SELECT /* idxadvise */ (SELECT setting::int4 FROM pg_settings WHERE name = 'track_activity_query_size')
         AS track_activity_query_size,
       current_setting('compute_query_id', true) AS compute_query_id,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats
