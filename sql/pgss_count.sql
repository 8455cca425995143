-- idxadvise: check, how full pg_stat_statements is (all databases)
-- min_server_version: 100000 (needs pg_stat_statements loaded and created)
-- columns: entries int8, this_database int8, hidden int8 (texts this role may not read)
SELECT /* idxadvise */ count(*)::int8 AS entries,
       (count(*) FILTER (WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())))::int8 AS this_database,
       (count(*) FILTER (WHERE query = '<insufficient privilege>'))::int8 AS hidden
FROM pg_stat_statements
