-- idxadvise: planner statistics per column (pg_stats; only tables this role may read)
-- min_server_version: 100000
-- columns: schema text, table_name text, column_name text, null_frac float8, avg_width int4,
--          n_distinct float8, most_common_vals text (array literal), most_common_freqs float8[],
--          histogram_bounds text (array literal), correlation float8
-- The non-inherited row is preferred; a partitioned table only has the inherited one.
SELECT /* idxadvise */ DISTINCT ON (s.schemaname, s.tablename, s.attname)
       s.schemaname::text AS schema, s.tablename::text AS table_name, s.attname::text AS column_name,
       s.null_frac::float8, s.avg_width::int4, s.n_distinct::float8,
       s.most_common_vals::text AS most_common_vals,
       s.most_common_freqs::float8[] AS most_common_freqs,
       s.histogram_bounds::text AS histogram_bounds,
       s.correlation::float8
FROM pg_stats s
WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema')
ORDER BY s.schemaname, s.tablename, s.attname, s.inherited
