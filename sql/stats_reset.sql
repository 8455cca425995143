-- idxadvise: since when the database's statistics counters run
-- min_server_version: 100000
-- columns: since text (null when never reset), seconds float8 (null when never reset)
SELECT /* idxadvise */ stats_reset::text AS since,
       extract(epoch FROM now() - stats_reset)::float8 AS seconds
FROM pg_stat_database WHERE datname = current_database()
