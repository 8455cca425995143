-- idxadvise: qualstats
-- min_server_version: 90600
-- requires_extension: pg_qualstats
-- columns: queryid int8, schema text, table text, column text, operator text,
--   constvalue text, occurences int8
-- The constants pg_qualstats sampled per pg_stat_statements queryid, for predicates
-- `column <op> constant` on a table of this database.
SELECT /* idxadvise */ q.queryid,
       n.nspname::text AS schema,
       c.relname::text AS "table",
       a.attname::text AS "column",
       o.oprname::text AS operator,
       q.constvalue::text AS constvalue,
       sum(q.occurences)::int8 AS occurences
FROM pg_qualstats() q
JOIN pg_class c ON c.oid = q.lrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = q.lrelid AND a.attnum = q.lattnum
JOIN pg_operator o ON o.oid = q.opno
WHERE q.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND q.queryid IS NOT NULL
  AND q.constvalue IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 7 DESC, 1, 6
LIMIT 10000
