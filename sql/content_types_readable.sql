-- idxadvise: can Django's django_content_type be read here (the table exists on the search path and the role may SELECT it)
-- min_server_version: 90600
-- columns: readable bool
SELECT /* idxadvise */ coalesce(has_table_privilege(to_regclass('django_content_type'), 'SELECT'), false) AS readable
