-- idxadvise: the schemas of the session's search_path, in order (existing ones only)
-- min_server_version: 90600
-- columns: schemas text[]
SELECT /* idxadvise */ current_schemas(false)::text[] AS schemas
