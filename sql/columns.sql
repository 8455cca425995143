-- idxadvise: columns of user tables
-- min_server_version: 100000
-- columns: table_oid oid, name text, attnum int2, type_name text, not_null bool,
--          collation text (null when the type's default)
SELECT /* idxadvise */ a.attrelid AS table_oid, a.attname::text AS name, a.attnum,
       format_type(a.atttypid, a.atttypmod) AS type_name, a.attnotnull AS not_null,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN co.collname::text END AS collation
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY a.attrelid, a.attnum
