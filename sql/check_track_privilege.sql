-- idxadvise: check, may this role turn pg_stat_statements tracking off for its session
-- min_server_version: 150000 (has_parameter_privilege and GRANT SET ON PARAMETER are new in 15)
-- columns: can_set bool
SELECT /* idxadvise */ has_parameter_privilege(current_user, 'pg_stat_statements.track', 'SET') AS can_set
