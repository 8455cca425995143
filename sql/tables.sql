-- idxadvise: user tables (ordinary and partitioned)
-- min_server_version: 100000
-- columns: oid oid, schema text, name text, rows float8, pages int8, all_visible int8,
--          size_bytes int8 (heap + TOAST, no indexes), fillfactor int4
SELECT /* idxadvise */ c.oid, n.nspname::text AS schema, c.relname::text AS name,
       c.reltuples::float8 AS rows, c.relpages::int8 AS pages, c.relallvisible::int8 AS all_visible,
       (pg_total_relation_size(c.oid) - pg_indexes_size(c.oid))::int8 AS size_bytes,
       coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                  WHERE option_name = 'fillfactor'), '100')::int4 AS fillfactor
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY n.nspname, c.relname
