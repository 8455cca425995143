-- idxadvise: Django's content types, to name the models of tables when no project is given
-- min_server_version: 90600
-- columns: app_label text, model text (the class name, lower-cased)
-- Run only when content_types_readable.sql says the table can be read.
SELECT /* idxadvise */ app_label::text AS app_label, model::text AS model
FROM django_content_type
ORDER BY 1, 2
