-- idxadvise: existing indexes of user tables
-- min_server_version: 110000 (indnkeyatts, INCLUDE)
-- columns: table_oid oid, name text, definition text, method text, unique bool, primary bool,
--          constraint_name text, valid bool, size_bytes int8, scans int8, nkeyatts int4,
--          predicate text, columns text[] (key columns then INCLUDE columns, expression text
--          for expression keys), attnums int2[] (0 for an expression), options int2[] (per key:
--          1 = DESC, 2 = NULLS FIRST), opclasses text[] (per key: null when the default),
--          planner_ready bool (false while a plain CREATE INDEX that met broken HOT chains
--          waits for older transactions to end: pg_index.indcheckxmin and its row's xmin not
--          yet before this snapshot's xmin, compared as 32-bit transaction ids)
SELECT /* idxadvise */ i.indrelid AS table_oid, ic.relname::text AS name,
       pg_get_indexdef(i.indexrelid) AS definition, am.amname::text AS method,
       i.indisunique AS unique, i.indisprimary AS primary,
       (SELECT con.conname::text FROM pg_constraint con
         WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
         ORDER BY con.conname LIMIT 1) AS constraint_name,
       i.indisvalid AS valid, pg_relation_size(i.indexrelid)::int8 AS size_bytes,
       coalesce(st.idx_scan, 0)::int8 AS scans, i.indnkeyatts::int4 AS nkeyatts,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k::int, true)
               FROM generate_series(1, i.indnatts) k ORDER BY k) AS columns,
       i.indkey::int2[] AS attnums,
       i.indoption::int2[] AS options,
       ARRAY(SELECT CASE WHEN oc.opcdefault THEN NULL ELSE oc.opcname::text END
               FROM unnest(i.indclass::oid[]) WITH ORDINALITY u(opc, k)
               JOIN pg_opclass oc ON oc.oid = u.opc ORDER BY u.k) AS opclasses,
       (NOT i.indcheckxmin
        OR i.xmin::text::int8 < 3
        OR (i.xmin::text::int8 - txid_snapshot_xmin(txid_current_snapshot()) % 4294967296
            + 4294967296) % 4294967296 >= 2147483648) AS planner_ready
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_user_indexes st ON st.indexrelid = i.indexrelid
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY i.indrelid, ic.relname
